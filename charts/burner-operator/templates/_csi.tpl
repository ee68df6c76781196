{{/* Per-pod tokens on CSI volumes (csiDriver.enabled): names shared by the csi-*.yaml templates and the manager. */}}
{{- define "burner-operator.csi.mintService" -}}
{{- include "burner-operator.fullname" . }}-mint
{{- end -}}

{{- define "burner-operator.csi.mintCertSecret" -}}
{{- include "burner-operator.fullname" . }}-mint-cert
{{- end -}}

{{- define "burner-operator.csi.mintCAConfigMap" -}}
{{- include "burner-operator.fullname" . }}-mint-ca
{{- end -}}

{{- define "burner-operator.csi.mintCertDir" -}}
/tmp/k8s-mint-server/serving-certs
{{- end -}}

{{- define "burner-operator.csi.pluginDir" -}}
{{- printf "%s/plugins/csi.burner.aerosol.com" .Values.csiDriver.kubeletDir -}}
{{- end -}}

{{/* The manager's flags (mintserver.Options), port, mount and volume for the mint endpoint; deployment.yaml
includes them when csiDriver.enabled. */}}
{{- define "burner-operator.csi.managerArgs" -}}
- --mint-bind-address=:{{ .Values.csiDriver.mintPort }}
- --mint-cert-dir={{ include "burner-operator.csi.mintCertDir" . }}
- --mint-cert-secret={{ include "burner-operator.csi.mintCertSecret" . }}
- --mint-ca-configmap={{ include "burner-operator.csi.mintCAConfigMap" . }}
- --mint-dns-name={{ include "burner-operator.csi.mintService" . }}.{{ .Release.Namespace }}.svc
- --mint-audience={{ .Values.csiDriver.audience }}
{{- end -}}

{{- define "burner-operator.csi.managerPorts" -}}
- name: mint
  containerPort: {{ .Values.csiDriver.mintPort }}
  protocol: TCP
{{- end -}}

{{- define "burner-operator.csi.managerVolumeMounts" -}}
- name: mint-cert
  mountPath: {{ include "burner-operator.csi.mintCertDir" . }}
  readOnly: true
{{- end -}}

{{- define "burner-operator.csi.managerVolumes" -}}
- name: mint-cert
  secret:
    secretName: {{ include "burner-operator.csi.mintCertSecret" . }}
{{- end -}}
