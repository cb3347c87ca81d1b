{{/*
The name of the release's objects: "<release>-operator" when the release name already says postern
(so the default release "postern" gives postern-operator), else "<release>-postern-operator".
Cluster-scoped objects carry it too, so two releases never share one.
*/}}
{{- define "postern.fullname" -}}
{{- if contains "postern" .Release.Name -}}
{{- printf "%s-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-postern-operator" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "postern.selectorLabels" -}}
app.kubernetes.io/name: postern-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "postern.labels" -}}
{{ include "postern.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "postern.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "postern.gatewayImage" -}}
{{ .Values.gatewayImage.repository | default .Values.image.repository }}:{{ .Values.gatewayImage.tag | default .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/*
"true" when a monitoring switch ("auto", true or false) is on: forced, or "auto" and the cluster
serves prometheus-operator's API. Called with (list <switch> $).
*/}}
{{- define "postern.monitoringOn" -}}
{{- $switch := toString (index . 0) -}}
{{- $root := index . 1 -}}
{{- if or (eq $switch "true") (and (eq $switch "auto") ($root.Capabilities.APIVersions.Has "monitoring.coreos.com/v1")) -}}
true
{{- end -}}
{{- end -}}

{{/*
What the operator reconciles, and nothing more (docs/operator.md lists why), bound cluster-wide or in
each watched namespace:
- SubmissionGateways and SmtpUsers: read; their status: written by server-side apply.
- Secrets: read (users' passwords, TLS and relay Secrets); the credentials Secrets it owns: created,
  applied, deleted when a shard empties.
- ServiceAccounts, ConfigMaps, Services, Deployments, PodDisruptionBudgets, ServiceMonitors: the
  gateway's children, created and applied; stale ServiceMonitors deleted.
- Pods: read, and patched with an annotation after a credentials or policy change, so kubelet
  refreshes their volumes at once (never the Deployment's template, which would roll them).
- Events: created.
*/}}
{{- define "postern.rules" -}}
- apiGroups: [postern.io]
  resources: [submissiongateways, smtpusers]
  verbs: [get, list, watch]
- apiGroups: [postern.io]
  resources: [submissiongateways/status, smtpusers/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [serviceaccounts, configmaps, services]
  verbs: [get, list, watch, create, patch]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, patch]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [get, list, watch, create, patch]
- apiGroups: [monitoring.coreos.com]
  resources: [servicemonitors]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, patch]
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create]
{{- end -}}

{{/* Restricted Pod Security, for every pod of the chart. */}}
{{- define "postern.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "postern.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/*
A duration value (one number, one unit, as the operator's flags take it: ms, s, m, h; none is
seconds) in milliseconds, so the leader-election timings can be compared at install.
*/}}
{{- define "postern.milliseconds" -}}
{{- $number := regexReplaceAll "(ms|s|m|h)$" . "" | float64 -}}
{{- $unit := regexReplaceAll "^[0-9.]+" . "" | default "s" -}}
{{- mulf $number (get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit) -}}
{{- end -}}
