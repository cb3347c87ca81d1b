// The files a gateway pod would see, taken from the real API server the way kubelet takes them: the
// operator's Deployment names the volumes (ConfigMap, Secrets, the projected credentials volume with
// its optional shards), and each is written as kubelet lays it out (`..data` swapped atomically).
// A test can then start real gateway processes from exactly what the operator wrote.
import { join } from "node:path";
import type { V1ConfigMap, V1Deployment, V1KeyToPath, V1Secret, V1Volume } from "@kubernetes/client-node";
import { writeVolume } from "../../gateway/testing/volume.ts";
import { read } from "./cluster-objects.ts";

const MOUNT_ROOT = "/etc/postern/";

type Files = Record<string, Buffer>;

function pick(data: Record<string, Buffer>, items: V1KeyToPath[] | undefined): Files {
  if (!items) return data;
  const files: Files = {};
  for (const { key, path } of items) {
    const value = data[key];
    if (value !== undefined) files[path] = value;
  }
  return files;
}

async function secretData(namespace: string, name: string, optional: boolean | undefined): Promise<Files> {
  const secret = await read<V1Secret>("v1", "Secret", namespace, name);
  if (!secret) {
    if (optional) return {};
    throw new Error(`Secret ${namespace}/${name} is missing: kubelet would not start the pod`);
  }
  return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64")]));
}

async function volumeFiles(namespace: string, volume: V1Volume): Promise<Files> {
  if (volume.configMap) {
    const cm = await read<V1ConfigMap>("v1", "ConfigMap", namespace, volume.configMap.name ?? "");
    const data = Object.fromEntries(Object.entries(cm?.data ?? {}).map(([k, v]) => [k, Buffer.from(v)]));
    return pick(data, volume.configMap.items);
  }
  if (volume.secret) {
    const data = await secretData(namespace, volume.secret.secretName ?? "", volume.secret.optional);
    return pick(data, volume.secret.items);
  }
  if (volume.projected) {
    const files: Files = {};
    for (const source of volume.projected.sources ?? []) {
      if (!source.secret) throw new Error("only Secret sources are expected in a gateway pod");
      const data = await secretData(namespace, source.secret.name ?? "", source.secret.optional);
      Object.assign(files, pick(data, source.secret.items));
    }
    return files;
  }
  return {};
}

/**
 * Writes every /etc/postern volume of the gateway's Deployment under `root` (so /etc/postern/config
 * becomes `<root>/config`) and returns the directory to pass to `postern-gateway --config`.
 * Called again, it swaps in the new versions as kubelet does.
 */
export async function writePodFiles(root: string, namespace: string, gateway: string): Promise<string> {
  const deployment = await read<V1Deployment>("apps/v1", "Deployment", namespace, gateway);
  const pod = deployment?.spec?.template.spec;
  if (!pod) throw new Error(`Deployment ${namespace}/${gateway} does not exist`);
  for (const mount of pod.containers[0]?.volumeMounts ?? []) {
    if (!mount.mountPath.startsWith(MOUNT_ROOT)) continue;
    const volume = pod.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volume ${mount.name} is mounted but not defined`);
    await writeVolume(
      join(root, mount.mountPath.slice(MOUNT_ROOT.length)),
      await volumeFiles(namespace, volume),
    );
  }
  return join(root, "config");
}
