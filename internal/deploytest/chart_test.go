package deploytest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// kubeVersion is the cluster version the chart is rendered for. A helm
// built with go install does not know its client-go version and would
// claim Kubernetes 1.20, below the chart's kubeVersion.
const kubeVersion = "1.34.0"

// helmPath finds the helm binary scripts/test.sh prepared. Without one the
// chart tests skip on a workstation but fail in CI, where skipping would
// hide an unchecked chart.
func helmPath(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("REACH_HELM")}
	if dir := os.Getenv("REACH_TOOLS_DIR"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, "helm"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cache", "reach-tools", "helm"))
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c
		}
	}
	msg := "no helm binary: run scripts/test.sh (it builds helm into ~/.cache/reach-tools) or set REACH_HELM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func chartDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "charts", "reach")
}

// runHelm runs helm and returns stdout, or an error carrying stderr.
func runHelm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helmPath(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Keep helm away from the user's repositories and caches.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// release is a rendered chart: every object, decoded strictly.
type release struct {
	objects []object
}

type object struct {
	kind, name string
	obj        any
}

// get returns the one object of a kind (and name, if given).
func (r release) all(kind string) []object {
	var out []object
	for _, o := range r.objects {
		if o.kind == kind {
			out = append(out, o)
		}
	}
	return out
}

func (r release) kinds() []string {
	var k []string
	for _, o := range r.objects {
		k = append(k, o.kind)
	}
	sort.Strings(k)
	return k
}

func one[T any](t *testing.T, r release, kind string) T {
	t.Helper()
	objs := r.all(kind)
	if len(objs) != 1 {
		t.Fatalf("got %d %s, want 1 (kinds: %v)", len(objs), kind, r.kinds())
	}
	return objs[0].obj.(T)
}

// serviceMonitor is the Prometheus Operator's ServiceMonitor, as far as the
// chart uses it; the operator's Go module is not worth its weight here, and
// strict decoding still catches misspelt fields.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval,omitempty"`
			ScrapeTimeout string `json:"scrapeTimeout,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// newObject maps the kinds the chart may render to their API types. A kind
// or version outside this list is itself an error: the cluster would not
// know it, or the check would not cover it.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1 PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "batch/v1 Job":
		return &batchv1.Job{}, nil
	case "networking.k8s.io/v1 Ingress":
		return &networkingv1.Ingress{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "monitoring.coreos.com/v1 ServiceMonitor":
		return &serviceMonitor{}, nil
	}
	return nil, fmt.Errorf("unexpected %s %s", apiVersion, kind)
}

// decodeManifests splits helm's output and decodes each document strictly
// into its Kubernetes type: an unknown or misplaced field, a wrong type or
// an unparsable quantity fails, as the API server would reject it. This is
// the offline stand-in for kubeconform, whose schemas live on the internet.
func decodeManifests(out string) (release, error) {
	var r release
	var problems []string
	seen := map[string]bool{}
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(out, -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			problems = append(problems, fmt.Sprintf("not YAML: %v\n%s", err, doc))
			continue
		}
		obj, err := newObject(head.APIVersion, head.Kind)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			problems = append(problems, fmt.Sprintf("%s %s: %v", head.Kind, head.Metadata.Name, err))
			continue
		}
		id := head.Kind + "/" + head.Metadata.Name
		if seen[id] {
			problems = append(problems, "rendered twice: "+id)
		}
		seen[id] = true
		r.objects = append(r.objects, object{kind: head.Kind, name: head.Metadata.Name, obj: obj})
	}
	if len(problems) > 0 {
		return r, errors.New(strings.Join(problems, "\n"))
	}
	return r, nil
}

func stripComments(doc string) string {
	var keep []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// render runs helm template with the given values files and --set flags.
func render(t *testing.T, files []string, sets ...string) (release, error) {
	t.Helper()
	args := []string{"template", "reach", chartDir(t), "--namespace", "reach", "--kube-version", kubeVersion}
	for _, f := range files {
		args = append(args, "-f", filepath.Join(chartDir(t), f))
	}
	args = append(args, sets...)
	out, err := runHelm(t, args...)
	if err != nil {
		return release{}, err
	}
	return decodeManifests(out)
}

func mustRender(t *testing.T, files []string, sets ...string) release {
	t.Helper()
	r, err := render(t, files, sets...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestChartLint(t *testing.T) {
	for _, files := range [][]string{nil, {"ci/production-values.yaml"}} {
		args := []string{"lint", "--strict", "--kube-version", kubeVersion, chartDir(t)}
		for _, f := range files {
			args = append(args, "-f", filepath.Join(chartDir(t), f))
		}
		if out, err := runHelm(t, args...); err != nil {
			t.Errorf("values %v: %v\n%s", files, err, out)
		}
	}
}

// TestChartRenders renders the chart for the values operators use and
// holds every manifest to the API types and to the chart's own rules.
func TestChartRenders(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		sets  []string
		kinds []string // every kind rendered, sorted
		check func(t *testing.T, r release)
	}{
		{
			name:  "defaults: one replica on the embedded backends",
			kinds: []string{"ConfigMap", "Deployment", "NetworkPolicy", "Service", "ServiceAccount"},
			check: func(t *testing.T, r release) {
				d := one[*appsv1.Deployment](t, r, "Deployment")
				if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
					t.Errorf("single pod on SQLite: strategy %s, want Recreate so two pods never share the database", d.Spec.Strategy.Type)
				}
				if v := volume(d.Spec.Template.Spec, "data"); v == nil || v.EmptyDir == nil {
					t.Errorf("data volume %+v, want an emptyDir without persistence", v)
				}
				np := one[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy")
				if got := egressPorts(np); !slices.Equal(got, []string{"TCP/443", "TCP/53", "UDP/53"}) {
					t.Errorf("egress %v: without external backends only DNS and forwarding (443)", got)
				}
			},
		},
		{
			name:  "production-like",
			files: []string{"ci/production-values.yaml"},
			kinds: []string{"ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "Job", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"},
			check: checkProduction,
		},
		{
			name: "inline secrets, env mode",
			sets: []string{"--set", "replicaCount=2",
				"--set-string", "postgresql.url=postgres://reach:pw@db:5432/reach,redis.url=redis://redis:6379/0,s3.endpoint=minio:9000,s3.bucket=reach,s3.accessKey=ak,s3.secretKey=sk",
				"--set-string", "encryption.key=Y2FtZGVuLXNlY3JldHMta2V5LWZvci10aGUtdGVzdCE="},
			kinds: []string{"ConfigMap", "Deployment", "Job", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Secret", "Service", "ServiceAccount"},
			check: func(t *testing.T, r release) {
				d := one[*appsv1.Deployment](t, r, "Deployment")
				c := d.Spec.Template.Spec.Containers[0]
				for _, name := range []string{"REACH_DATABASE_URL", "REACH_REDIS_URL", "REACH_S3_ACCESS_KEY", "REACH_S3_SECRET_KEY", "REACH_SECRETS_KEY"} {
					e := envVar(c, name)
					if e == nil || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
						t.Errorf("%s: got %+v, want valueFrom.secretKeyRef", name, e)
					}
				}
				tsc := d.Spec.Template.Spec.TopologySpreadConstraints
				if len(tsc) != 2 {
					t.Fatalf("topology spread %+v, want the default over nodes and zones", tsc)
				}
				for _, c := range tsc {
					if s, _ := metav1.LabelSelectorAsSelector(c.LabelSelector); s == nil || !s.Matches(labels.Set(d.Spec.Template.Labels)) {
						t.Errorf("spread over %s selects %v, not the pods", c.TopologyKey, c.LabelSelector)
					}
				}
				job := one[*batchv1.Job](t, r, "Job")
				ref := envVar(job.Spec.Template.Spec.Containers[0], "REACH_DATABASE_URL")
				if ref == nil || ref.ValueFrom == nil || ref.ValueFrom.SecretKeyRef.Name != "reach-migrate" {
					t.Errorf("migration Job reads %+v, want the hook Secret reach-migrate (the release's Secret does not exist yet at pre-install)", ref)
				}
			},
		},
		{
			name: "inline secrets, file mode",
			sets: []string{"--set", "replicaCount=2",
				"--set-string", "secrets.mode=file,postgresql.url=postgres://reach:pw@db:5432/reach,redis.url=redis://redis:6379/0,s3.endpoint=minio:9000,s3.bucket=reach,s3.accessKey=ak,s3.secretKey=sk"},
			kinds: []string{"ConfigMap", "Deployment", "Job", "NetworkPolicy", "PodDisruptionBudget", "Secret", "Secret", "Service", "ServiceAccount"},
			check: func(t *testing.T, r release) {
				d := one[*appsv1.Deployment](t, r, "Deployment")
				for _, src := range volume(d.Spec.Template.Spec, "secrets").Projected.Sources {
					if src.Secret.Name != "reach" {
						t.Errorf("server mounts Secret %s, want the release's own reach", src.Secret.Name)
					}
				}
				job := one[*batchv1.Job](t, r, "Job")
				v := volume(job.Spec.Template.Spec, "secrets")
				if v == nil || len(v.Projected.Sources) != 1 || v.Projected.Sources[0].Secret.Name != "reach-migrate" {
					t.Errorf("migration Job mounts %+v, want only the hook Secret reach-migrate", v)
				}
			},
		},
		{
			name:  "embedded backends on a persistent volume",
			sets:  []string{"--set", "persistence.enabled=true,networkPolicy.enabled=false"},
			kinds: []string{"ConfigMap", "Deployment", "PersistentVolumeClaim", "Service", "ServiceAccount"},
			check: func(t *testing.T, r release) {
				d := one[*appsv1.Deployment](t, r, "Deployment")
				v := volume(d.Spec.Template.Spec, "data")
				if v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "reach-data" {
					t.Errorf("data volume %+v, want the claim reach-data", v)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustRender(t, tt.files, tt.sets...)
			if got := r.kinds(); !slices.Equal(got, tt.kinds) {
				t.Errorf("kinds %v, want %v", got, tt.kinds)
			}
			// The image's EXPOSE and the docs promise these two ports.
			var ports []int32
			for _, p := range one[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0].Ports {
				ports = append(ports, p.ContainerPort)
			}
			if !slices.Equal(ports, []int32{8080, 8081}) {
				t.Errorf("container ports %v, want 8080 and 8081", ports)
			}
			checkCommon(t, r)
			tt.check(t, r)
		})
	}
}

// checkCommon holds for every release: names and labels the API server
// accepts, locked-down pods, selectors that find the pods, and secret
// references that lead somewhere.
func checkCommon(t *testing.T, r release) {
	t.Helper()
	for _, o := range r.objects {
		for _, msg := range validation.IsDNS1123Subdomain(o.name) {
			t.Errorf("%s %q: %s", o.kind, o.name, msg)
		}
		if m, ok := o.obj.(metav1.Object); ok {
			for k, v := range m.GetLabels() {
				for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
					t.Errorf("%s %s label %s=%s: %s", o.kind, o.name, k, v, msg)
				}
			}
		}
	}

	d := one[*appsv1.Deployment](t, r, "Deployment")
	pod := d.Spec.Template
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
		t.Errorf("Deployment selector %v does not match its pod labels %v", d.Spec.Selector, pod.Labels)
	}
	checkPod(t, "Deployment", pod.Spec)
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("got %d containers, want 1", len(pod.Spec.Containers))
	}
	c := pod.Spec.Containers[0]
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["app"] == 0 || ports["content"] == 0 || len(ports) != 2 {
		t.Errorf("container ports %v, want exactly app and content", ports)
	}
	for name, p := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		want := "/healthz"
		if name == "readiness" {
			want = "/readyz"
		}
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != want || p.HTTPGet.Port.String() != "app" {
			t.Errorf("%s probe %+v, want GET %s on the app port", name, p, want)
		}
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
		t.Error("no preStop sleep: pods would stop before load balancers notice")
	}
	if !slices.Contains(c.Args, "serve") {
		t.Errorf("args %v, want serve", c.Args)
	}

	svc := one[*corev1.Service](t, r, "Service")
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
		t.Errorf("Service selector %v misses the pods %v", svc.Spec.Selector, pod.Labels)
	}
	var svcPorts []string
	for _, p := range svc.Spec.Ports {
		svcPorts = append(svcPorts, p.Name+"->"+p.TargetPort.String())
	}
	if !slices.Equal(svcPorts, []string{"app->app", "content->content"}) {
		t.Errorf("Service ports %v, want app and content", svcPorts)
	}

	for _, o := range r.all("PodDisruptionBudget") {
		pdb := o.obj.(*policyv1.PodDisruptionBudget)
		if s, _ := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); s == nil || !s.Matches(labels.Set(pod.Labels)) {
			t.Errorf("PodDisruptionBudget selector %v misses the pods", pdb.Spec.Selector)
		}
	}
	for _, o := range r.all("NetworkPolicy") {
		np := o.obj.(*networkingv1.NetworkPolicy)
		if s, _ := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); s == nil || !s.Matches(labels.Set(pod.Labels)) {
			t.Errorf("NetworkPolicy selector %v misses the pods", np.Spec.PodSelector)
		}
		var in []string
		for _, rule := range np.Spec.Ingress {
			for _, p := range rule.Ports {
				in = append(in, p.Port.String())
			}
		}
		if want := []string{fmt.Sprint(ports["app"]), fmt.Sprint(ports["content"])}; !slices.Equal(in, want) {
			t.Errorf("NetworkPolicy admits ports %v, want the container's %v", in, want)
		}
	}
	for _, o := range r.all("HorizontalPodAutoscaler") {
		h := o.obj.(*autoscalingv2.HorizontalPodAutoscaler)
		if h.Spec.ScaleTargetRef.Kind != "Deployment" || h.Spec.ScaleTargetRef.Name != d.Name {
			t.Errorf("HPA scales %v, want Deployment %s", h.Spec.ScaleTargetRef, d.Name)
		}
		if d.Spec.Replicas != nil {
			t.Error("Deployment sets replicas while an HPA owns them; every upgrade would reset the scale")
		}
	}
	for _, o := range r.all("Job") {
		j := o.obj.(*batchv1.Job)
		hooks := strings.Split(j.Annotations["helm.sh/hook"], ",")
		if !slices.Contains(hooks, "pre-install") || !slices.Contains(hooks, "pre-upgrade") {
			t.Errorf("Job %s hooks %v, want pre-install and pre-upgrade", j.Name, hooks)
		}
		if args := j.Spec.Template.Spec.Containers[0].Args; !slices.Equal(args, []string{"migrate"}) {
			t.Errorf("Job runs %v, want migrate", args)
		}
		if j.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("Job restartPolicy %s", j.Spec.Template.Spec.RestartPolicy)
		}
		checkPod(t, "Job", j.Spec.Template.Spec)
	}
	checkSecretRefs(t, r)
	checkEnvNames(t, r)
}

// checkPod holds the security rules for every pod the chart runs.
func checkPod(t *testing.T, what string, spec corev1.PodSpec) {
	t.Helper()
	ps := spec.SecurityContext
	if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
		t.Errorf("%s: pod securityContext lacks runAsNonRoot", what)
	}
	if ps == nil || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccomp profile is not RuntimeDefault", what)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: mounts a service-account token Reach never uses", what)
	}
	// Service links would put REACH_PORT and friends (for a Service named
	// reach) into the environment Reach reads its settings from.
	if spec.EnableServiceLinks == nil || *spec.EnableServiceLinks {
		t.Errorf("%s: service links on: Kubernetes would inject REACH_* variables", what)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		switch {
		case sc == nil:
			t.Errorf("%s/%s: no securityContext", what, c.Name)
			continue
		case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
			t.Errorf("%s/%s: root filesystem is writable", what, c.Name)
		case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
			t.Errorf("%s/%s: privilege escalation allowed", what, c.Name)
		case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
			t.Errorf("%s/%s: runAsNonRoot unset", what, c.Name)
		case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0:
			t.Errorf("%s/%s: capabilities %+v, want drop ALL and add none", what, c.Name, sc.Capabilities)
		case sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
			t.Errorf("%s/%s: seccomp profile is not RuntimeDefault", what, c.Name)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("%s/%s: resources %+v, want cpu and memory requests and a memory limit", what, c.Name, c.Resources)
		}
		if strings.HasSuffix(c.Image, ":latest") || !strings.ContainsAny(c.Image, ":@") {
			t.Errorf("%s/%s: image %q is not pinned", what, c.Name, c.Image)
		}
		mount := func(path string) *corev1.VolumeMount {
			for i := range c.VolumeMounts {
				if c.VolumeMounts[i].MountPath == path {
					return &c.VolumeMounts[i]
				}
			}
			return nil
		}
		if m := mount("/tmp"); m == nil || volume(spec, m.Name) == nil || volume(spec, m.Name).EmptyDir == nil {
			t.Errorf("%s/%s: no emptyDir at /tmp on the read-only root", what, c.Name)
		}
		for _, m := range c.VolumeMounts {
			if volume(spec, m.Name) == nil {
				t.Errorf("%s/%s: mount %s names no volume", what, c.Name, m.Name)
			}
		}
		for _, e := range c.Env {
			if strings.HasSuffix(e.Name, "_FILE") {
				dir := filepath.Dir(e.Value)
				if m := mount(dir); m == nil || !m.ReadOnly {
					t.Errorf("%s/%s: %s=%s but nothing is mounted read-only at %s", what, c.Name, e.Name, e.Value, dir)
				} else if !projectsPath(volume(spec, m.Name), filepath.Base(e.Value)) {
					t.Errorf("%s/%s: %s=%s: volume %s has no item %s", what, c.Name, e.Name, e.Value, m.Name, filepath.Base(e.Value))
				}
			}
		}
	}
}

func projectsPath(v *corev1.Volume, path string) bool {
	if v == nil || v.Projected == nil {
		return false
	}
	for _, s := range v.Projected.Sources {
		if s.Secret != nil {
			for _, it := range s.Secret.Items {
				if it.Path == path {
					return true
				}
			}
		}
	}
	return false
}

func volume(spec corev1.PodSpec, name string) *corev1.Volume {
	for i := range spec.Volumes {
		if spec.Volumes[i].Name == name {
			return &spec.Volumes[i]
		}
	}
	return nil
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// checkSecretRefs: a reference to a Secret the release renders must name a
// key that Secret holds (and a rendered ConfigMap must exist for envFrom).
// Secrets the release does not render are the operator's existingSecrets.
func checkSecretRefs(t *testing.T, r release) {
	t.Helper()
	secrets := map[string]*corev1.Secret{}
	for _, o := range r.all("Secret") {
		secrets[o.name] = o.obj.(*corev1.Secret)
	}
	check := func(where, name, key string) {
		if s, ok := secrets[name]; ok {
			if _, ok := s.Data[key]; !ok {
				t.Errorf("%s: Secret %s has no key %s", where, name, key)
			}
		}
	}
	var pods []corev1.PodSpec
	for _, o := range r.all("Deployment") {
		pods = append(pods, o.obj.(*appsv1.Deployment).Spec.Template.Spec)
	}
	for _, o := range r.all("Job") {
		pods = append(pods, o.obj.(*batchv1.Job).Spec.Template.Spec)
	}
	configMaps := map[string]bool{}
	for _, o := range r.all("ConfigMap") {
		configMaps[o.name] = true
	}
	for _, p := range pods {
		for _, c := range p.Containers {
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					check(c.Name+" env "+e.Name, e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil && !configMaps[ef.ConfigMapRef.Name] {
					t.Errorf("%s: envFrom ConfigMap %s is not rendered", c.Name, ef.ConfigMapRef.Name)
				}
			}
		}
		for _, v := range p.Volumes {
			if v.Projected == nil {
				continue
			}
			for _, s := range v.Projected.Sources {
				if s.Secret != nil {
					for _, it := range s.Secret.Items {
						check("volume "+v.Name, s.Secret.Name, it.Key)
					}
				}
			}
		}
	}
}

// checkEnvNames: every REACH_* variable the chart sets is one the binary
// reads, so a typo in a template cannot pass silently.
func checkEnvNames(t *testing.T, r release) {
	t.Helper()
	known := map[string]bool{}
	for _, s := range configSettings(t) {
		known[s.Env] = true
	}
	var names []string
	for _, o := range r.all("ConfigMap") {
		for k := range o.obj.(*corev1.ConfigMap).Data {
			names = append(names, k)
		}
	}
	for _, o := range r.all("Deployment") {
		for _, e := range o.obj.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env {
			names = append(names, e.Name)
		}
	}
	for _, o := range r.all("Job") {
		for _, e := range o.obj.(*batchv1.Job).Spec.Template.Spec.Containers[0].Env {
			names = append(names, e.Name)
		}
	}
	for _, n := range names {
		for _, msg := range validation.IsEnvVarName(n) {
			t.Errorf("env %s: %s", n, msg)
		}
		if !known[strings.TrimSuffix(n, "_FILE")] {
			t.Errorf("the chart sets %s, which internal/config does not read", n)
		}
	}
}

func egressPorts(np *networkingv1.NetworkPolicy) []string {
	var out []string
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			out = append(out, string(*p.Protocol)+"/"+p.Port.String())
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

func checkProduction(t *testing.T, r release) {
	d := one[*appsv1.Deployment](t, r, "Deployment")
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	if d.Spec.Strategy.RollingUpdate == nil || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("strategy %+v, want a rolling update that keeps every replica", d.Spec.Strategy)
	}
	if c.Image != "registry.example.org/reach/reach@sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904a1e2c1e3f0fcc2a5e0a4c5e1" {
		t.Errorf("image %s: the digest must win over the tag", c.Image)
	}
	// Secrets arrive as files from the operator's Secrets, never as env values.
	for _, name := range []string{"REACH_DATABASE_URL", "REACH_REDIS_URL", "REACH_S3_ACCESS_KEY", "REACH_S3_SECRET_KEY", "REACH_SECRETS_KEY"} {
		if envVar(c, name) != nil {
			t.Errorf("%s is in the environment in file mode", name)
		}
		if envVar(c, name+"_FILE") == nil {
			t.Errorf("%s_FILE is not set", name)
		}
	}
	if got := volume(spec, "secrets"); got == nil || len(got.Projected.Sources) != 5 || got.Projected.Sources[0].Secret.Name != "reach-database" ||
		got.Projected.Sources[4].Secret.Name != "reach-encryption" {
		t.Errorf("secrets volume %+v, want the five keys of reach-database, reach-redis, reach-s3 and reach-encryption", got)
	}
	if len(r.all("Secret")) != 0 {
		t.Error("with existingSecret everywhere the chart must render no Secret of its own")
	}

	ing := one[*networkingv1.Ingress](t, r, "Ingress")
	hosts := map[string]string{}
	for _, rule := range ing.Spec.Rules {
		hosts[rule.Host] = rule.HTTP.Paths[0].Backend.Service.Port.Name
	}
	if hosts["reach.london.example"] != "app" || hosts["content.reach-london.example"] != "content" {
		t.Errorf("ingress routes %v, want the app host to app and the content host to content", hosts)
	}
	if len(ing.Spec.TLS) != 2 {
		t.Errorf("ingress TLS %v, want one entry per host", ing.Spec.TLS)
	}

	cm := one[*corev1.ConfigMap](t, r, "ConfigMap")
	for k, want := range map[string]string{
		"REACH_PUBLIC_URL":   "https://reach.london.example",
		"REACH_CONTENT_URL":  "https://content.reach-london.example",
		"REACH_S3_ENDPOINT":  "s3.eu-west-2.amazonaws.com",
		"REACH_REDIS_PREFIX": "reach-prod:",
	} {
		if cm.Data[k] != want {
			t.Errorf("ConfigMap %s = %q, want %q", k, cm.Data[k], want)
		}
	}

	np := one[*networkingv1.NetworkPolicy](t, r, "NetworkPolicy")
	if got, want := egressPorts(np), []string{"TCP/443", "TCP/53", "TCP/5432", "TCP/6379", "UDP/53"}; !slices.Equal(got, want) {
		t.Errorf("egress ports %v, want %v", got, want)
	}
	if len(np.Spec.Ingress[0].From) != 2 {
		t.Errorf("ingress peers %v, want the two configured namespaces", np.Spec.Ingress[0].From)
	}

	h := one[*autoscalingv2.HorizontalPodAutoscaler](t, r, "HorizontalPodAutoscaler")
	if *h.Spec.MinReplicas != 3 || h.Spec.MaxReplicas != 12 || len(h.Spec.Metrics) != 2 {
		t.Errorf("HPA %+v, want 3..12 on cpu and memory", h.Spec)
	}

	sm := one[*serviceMonitor](t, r, "ServiceMonitor")
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "app" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics on the app port", sm.Spec.Endpoints)
	}
	pod := d.Spec.Template.Labels
	if s, _ := metav1.LabelSelectorAsSelector(&sm.Spec.Selector); !s.Matches(labels.Set(pod)) {
		t.Errorf("ServiceMonitor selector %v misses the Service", sm.Spec.Selector)
	}

	job := one[*batchv1.Job](t, r, "Job")
	jc := job.Spec.Template.Spec.Containers[0]
	if jc.Image != c.Image {
		t.Errorf("migration runs %s, the server %s: they must be the same release", jc.Image, c.Image)
	}
	if envVar(jc, "REACH_DATABASE_URL_FILE") == nil {
		t.Error("migration Job gets no database URL")
	}
}

// TestChartRejectsBadValues: values that cannot work stop the release with
// a message naming what to change, and render nothing.
func TestChartRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"several replicas on SQLite", []string{"--set", "replicaCount=3"}, "needs external PostgreSQL"},
		{"autoscaling on SQLite", []string{"--set", "autoscaling.enabled=true"}, "needs external PostgreSQL"},
		{"several replicas without Redis", []string{"--set", "replicaCount=2", "--set-string", "postgresql.url=postgres://db/reach"}, "needs Redis"},
		{"several replicas without S3", []string{"--set", "replicaCount=2", "--set-string", "postgresql.url=postgres://db/reach,redis.url=redis://r:6379"}, "needs S3-compatible storage"},
		{"S3 without bucket", []string{"--set-string", "s3.endpoint=minio:9000,s3.existingSecret=s3"}, "s3.bucket is required"},
		{"S3 without credentials", []string{"--set-string", "s3.endpoint=minio:9000,s3.bucket=b"}, "s3.endpoint needs credentials"},
		{"S3 keys without endpoint", []string{"--set-string", "s3.accessKey=a,s3.secretKey=b"}, "s3.endpoint is empty"},
		{"database URL twice", []string{"--set-string", "postgresql.url=postgres://db/reach,postgresql.existingSecret=db"}, "not both"},
		{"encryption key twice", []string{"--set-string", "encryption.key=k,encryption.existingSecret=enc"}, "not both"},
		{"previous keys without a key", []string{"--set-string", "encryption.previousKeys=k"}, "needs encryption.key"},
		{"ingress with one host", []string{"--set", "ingress.enabled=true", "--set-string", "ingress.app.host=reach.example"}, "needs both ingress.app.host and ingress.content.host"},
		{"ingress on one host", []string{"--set", "ingress.enabled=true", "--set-string", "ingress.app.host=reach.example,ingress.content.host=reach.example"}, "must differ"},
		{"content on the app origin", []string{"--set-string", "config.publicURL=https://reach.example,config.contentURL=https://reach.example/content"}, "same origin"},
		{"same ports", []string{"--set", "ports.content=8080"}, "ports.app and ports.content must differ"},
		{"latest tag", []string{"--set-string", "image.tag=latest"}, "pin a version"},
		{"unknown value", []string{"--set", "config.databaseURL=x"}, "additional properties 'databaseURL' not allowed"},
		{"misspelt section", []string{"--set", "postgres.url=x"}, "additional properties 'postgres' not allowed"},
		{"wrong type", []string{"--set-string", "replicaCount=three"}, "replicaCount"},
		{"bad log level", []string{"--set-string", "config.logLevel=verbose"}, "logLevel"},
		{"bad duration", []string{"--set-string", "config.sessionTTL=12 hours"}, "sessionTTL"},
		{"bad byte count", []string{"--set-string", "config.maxUploadBytes=1GB"}, "maxUploadBytes"},
		{"scheme in the S3 endpoint", []string{"--set-string", "s3.endpoint=https://s3.example,s3.bucket=b,s3.existingSecret=s"}, "endpoint"},
		{"bad secrets mode", []string{"--set-string", "secrets.mode=vault"}, "mode"},
		{"redis URL scheme", []string{"--set-string", "redis.url=http://redis:6379"}, "redis/url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, nil, tt.sets...)
			if err == nil {
				t.Fatalf("rendered; want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not mention %q:\n%v", tt.want, err)
			}
		})
	}
}

// TestDecodeManifestsIsStrict shows the offline schema check rejects what
// the API server would.
func TestDecodeManifestsIsStrict(t *testing.T) {
	const good = `apiVersion: v1
kind: ConfigMap
metadata:
  name: reach
data:
  REACH_LOG_LEVEL: info
`
	tests := []struct {
		name, doc, want string
	}{
		{"misspelt field", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reach\nspec:\n  template:\n    spec:\n      contianers: []\n", `unknown field "contianers"`},
		{"field at the wrong level", "apiVersion: v1\nkind: Service\nmetadata:\n  name: reach\nports: []\n", `unknown field "ports"`},
		{"wrong type", "apiVersion: v1\nkind: Service\nmetadata:\n  name: reach\nspec:\n  ports:\n    - port: eighty\n", "port"},
		{"bad quantity", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: reach\nspec:\n  resources:\n    requests:\n      storage: ten gigs\n", "quantities must match"},
		{"unknown kind", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: reach\n", "unexpected v1 Pod"},
		{"old API version", "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: reach\n", "unexpected autoscaling/v1"},
		{"duplicate", good + "---\n" + good, "rendered twice: ConfigMap/reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeManifests(tt.doc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	r, err := decodeManifests("# a comment only\n---\n" + good)
	if err != nil || len(r.objects) != 1 {
		t.Errorf("good manifest: %v, %d objects", err, len(r.objects))
	}
}
