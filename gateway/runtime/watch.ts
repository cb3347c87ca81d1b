// Watches the directories that hold configuration files. Kubelet updates a mounted volume by
// renaming a new `..data` symlink over the old one, which inotify reports on the volume directory,
// not on the file path the gateway opened; an editor saving a standalone file renames too. So the
// containing directories are watched and every burst of events triggers one debounced check; the
// caller compares contents to decide what actually changed. A slow poll backs inotify up, for
// filesystems and symlink layouts whose changes it does not report.
import { type FSWatcher, watch } from "node:fs";
import { dirname } from "node:path";

export interface DirectoryWatcher {
  close(): void;
}

export function watchDirectories(
  files: readonly string[],
  onChange: () => void,
  options: { debounceMs?: number; pollMs?: number; onError?: (err: Error) => void } = {},
): DirectoryWatcher {
  const debounceMs = options.debounceMs ?? 100;
  let timer: NodeJS.Timeout | undefined;
  const fire = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  };
  const watchers: FSWatcher[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    try {
      const watcher = watch(dir, { persistent: false }, fire);
      watcher.on("error", (err) => options.onError?.(err));
      watchers.push(watcher);
    } catch (err) {
      options.onError?.(err as Error);
    }
  }
  const poll = setInterval(onChange, options.pollMs ?? 5000);
  poll.unref();
  return {
    close() {
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}
