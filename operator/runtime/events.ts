// Kubernetes Events (events.k8s.io/v1) on the objects the operator reconciles, so `kubectl describe`
// shows what happened to them. Best effort, as client-go's broadcaster: a failed Event never fails a
// reconcile, a few are sent at once, and past a bounded backlog they are dropped (10,000 users
// turning Ready together must not become 10,000 requests in flight). Callers emit on transitions
// only, so nothing here needs client-go's aggregation.
import { randomBytes } from "node:crypto";
import { EventsV1Api, type KubeConfig, V1MicroTime } from "@kubernetes/client-node";
import type { Logger } from "pino";

const IN_FLIGHT = 4;
const BACKLOG = 1000;

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorder {
  event(target: EventTarget, type: "Normal" | "Warning", reason: string, action: string, note: string): void;
}

export function createEventRecorder(
  kubeConfig: KubeConfig,
  controller: string,
  instance: string,
  logger: Logger,
): EventRecorder {
  const api = kubeConfig.makeApiClient(EventsV1Api);
  const backlog: (() => Promise<unknown>)[] = [];
  let sending = 0;
  let dropped = 0;
  const pump = () => {
    while (sending < IN_FLIGHT && backlog.length > 0) {
      const send = backlog.shift() as () => Promise<unknown>;
      sending++;
      void send().finally(() => {
        sending--;
        pump();
      });
    }
  };
  return {
    event(target, type, reason, action, note) {
      if (backlog.length >= BACKLOG) {
        if (dropped++ % BACKLOG === 0) logger.warn({ dropped }, "too many events pending: dropping some");
        return;
      }
      const namespace = target.metadata.namespace ?? "default";
      backlog.push(() =>
        api
          .createNamespacedEvent({
            namespace,
            body: {
              metadata: { name: `${target.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
              eventTime: new V1MicroTime(),
              reportingController: controller,
              reportingInstance: instance,
              action,
              reason,
              type,
              // The API refuses notes over 1 KiB.
              note: note.length > 1024 ? `${note.slice(0, 1021)}...` : note,
              regarding: {
                apiVersion: target.apiVersion,
                kind: target.kind,
                name: target.metadata.name,
                namespace: target.metadata.namespace,
                uid: target.metadata.uid,
                resourceVersion: target.metadata.resourceVersion,
              },
            },
          })
          .catch((err: Error) => logger.warn({ err: err.message, reason }, "could not record an event")),
      );
      pump();
    },
  };
}
