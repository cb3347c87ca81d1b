// One client for any resource, on client-node's KubernetesObjectApi (its auth, TLS, discovery and
// HTTP machinery), returning the API server's JSON as is. client-node's typed deserialisation turns
// timestamps into Date objects for built-in kinds but not in watch events, and its typed
// serialisation drops fields its models do not know; a cache that mixes both forms, or an apply
// that loses fields, would make every comparison lie. So: plain JSON in, plain JSON out.
import {
  ApiException,
  HttpMethod,
  type KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  type ResponseContext,
} from "@kubernetes/client-node";

/** A resource as the REST paths name it. `group` is "" for the core API. */
export interface ResourceType {
  group: string;
  version: string;
  plural: string;
}

export function apiVersionOf(type: Pick<ResourceType, "group" | "version">): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

/** The collection path of a resource, in one namespace or (namespace undefined) all of them. */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const root = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
  return `${root}${scope}/${type.plural}`;
}

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export class KubeClient extends KubernetesObjectApi {
  static fromKubeConfig(kc: KubeConfig): KubeClient {
    return kc.makeApiClient(KubeClient);
  }

  /** The path of one object (subresource optional), its plural found by discovery (cached). */
  async objectPath(
    object: KubernetesObject,
    subresource?: string,
  ): Promise<{ path: string; plural: string }> {
    const { apiVersion, kind, metadata } = object;
    if (apiVersion === undefined || kind === undefined || metadata?.name === undefined) {
      throw new Error("object needs apiVersion, kind and metadata.name");
    }
    const resource = await this.resource(apiVersion, kind);
    if (resource === undefined) throw new Error(`the API server does not serve ${kind} in ${apiVersion}`);
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const type = { group: group ?? "", version: version ?? "", plural: resource.name };
    const namespace = resource.namespaced ? (metadata.namespace ?? this.defaultNamespace) : undefined;
    const path = `${collectionPath(type, namespace)}/${encodeURIComponent(metadata.name)}`;
    return { path: subresource === undefined ? path : `${path}/${subresource}`, plural: resource.name };
  }

  /** One request; resolves with the parsed JSON body, rejects with ApiException on non-2xx. */
  async request<T = unknown>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const context = this.configuration.baseServer.makeRequestContext(path, method);
    context.setHeaderParam("Accept", "application/json");
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) context.setQueryParam(name, String(value));
    }
    if (options.body !== undefined) {
      context.setHeaderParam("Content-Type", options.contentType ?? "application/json");
      context.setBody(JSON.stringify(options.body));
    }
    if (options.signal !== undefined) context.setSignal(options.signal);
    return (await this.requestPromise(context)) as T;
  }

  get<T = unknown>(path: string, options?: RequestOptions): Promise<T> {
    return this.request<T>(HttpMethod.GET, path, options);
  }

  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
  ): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return (text === "" ? {} : JSON.parse(text)) as T;
    }
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (a proxy's error page): keep the text
    }
    const message = (body as { message?: unknown })?.message;
    throw new ApiException(
      response.httpStatusCode,
      typeof message === "string" ? message : `HTTP ${response.httpStatusCode}`,
      body,
      response.headers,
    );
  }
}
