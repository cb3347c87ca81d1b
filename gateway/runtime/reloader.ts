// Hot reload: on a change in the configuration directories (watch.ts, which also polls), or when
// asked, compares each kind's fingerprint with the one last checked and reloads the kinds that
// changed. Checks run one at a time, never interleaved. A reloaded policy can move the other files,
// so after each check the watch follows them.
import type { Logger } from "pino";
import { CONFIG_KINDS, type GatewayState, type ListenerUpdates } from "./gateway-state.ts";
import { fingerprints, watchedFiles } from "./loaders.ts";
import { type DirectoryWatcher, watchDirectories } from "./watch.ts";

export interface ReloaderOptions {
  /** Milliseconds between a file change and its check. */
  debounceMs: number;
  logger: Logger;
}

export class Reloader {
  readonly #state: GatewayState;
  readonly #listeners: ListenerUpdates;
  readonly #options: ReloaderOptions;
  #reloading: Promise<void> = Promise.resolve();
  #watcher: DirectoryWatcher | undefined;
  /** The files watched now, as JSON: a different set means watching anew. */
  #watchedKey = "";
  /** After close nothing reloads: a policy reload would open an upstream pool nobody closes. */
  #closed = false;

  constructor(state: GatewayState, listeners: ListenerUpdates, options: ReloaderOptions) {
    this.#state = state;
    this.#listeners = listeners;
    this.#options = options;
  }

  /** Checks the files now and applies what changed, after any check under way. */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(() => this.#reloadChanged());
    return this.#reloading;
  }

  async #reloadChanged(): Promise<void> {
    const state = this.#state;
    // Policy first: it can move the other files or change how they are used (tls.minVersion), so
    // each kind is fingerprinted under the policy in force once the kinds before it reloaded. Only a
    // reload changes that, so the files are read again only after one (the watch's poll finds
    // nothing changed far more often than not).
    let now = await fingerprints(state.config, state.dir);
    for (const kind of CONFIG_KINDS) {
      if (this.#closed) return;
      if (now[kind] === state.fingerprints[kind]) continue;
      state.fingerprints[kind] = now[kind];
      await state.reloadKind(kind, this.#listeners);
      now = await fingerprints(state.config, state.dir);
    }
  }

  /** Watches the directories of the files the policy in force names, unless they are watched already. */
  watch(): void {
    if (this.#closed) return;
    const files = watchedFiles(this.#state.config, this.#state.dir);
    const key = JSON.stringify(files);
    if (key === this.#watchedKey) return;
    this.#watchedKey = key;
    this.#watcher?.close();
    this.#watcher = watchDirectories(
      Object.values(files).flat(),
      () => void this.reload().then(() => this.watch()),
      {
        debounceMs: this.#options.debounceMs,
        onError: (err) =>
          this.#options.logger.warn({ err: err.message }, "cannot watch configuration directory"),
      },
    );
  }

  /** Stops watching; resolves once a check under way has finished. */
  close(): Promise<void> {
    this.#closed = true;
    this.#watcher?.close();
    return this.#reloading;
  }
}
