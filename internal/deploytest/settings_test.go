package deploytest

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/reach-london/reach/internal/config"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/operations/configuration.md")

// setting is one field of config.Config as operators meet it.
type setting struct {
	Env, Flag, Help, Default string
	Secret                   bool
}

// configSettings reads every setting from config.Config's tags, so the
// checks below follow config.go without a list of their own to forget.
func configSettings(t *testing.T) []setting {
	t.Helper()
	def := config.Default()
	v := reflect.ValueOf(def)
	var out []setting
	for i := 0; i < v.NumField(); i++ {
		f := v.Type().Field(i)
		env := f.Tag.Get("env")
		if env == "" {
			t.Fatalf("config.Config.%s has no env tag", f.Name)
		}
		out = append(out, setting{
			Env:     env,
			Flag:    "--" + config.FlagName(env),
			Help:    f.Tag.Get("help"),
			Secret:  f.Tag.Get("secret") == "true",
			Default: formatDefault(v.Field(i).Interface()),
		})
	}
	return out
}

// formatDefault writes a default the way an operator would type it.
func formatDefault(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		for _, u := range []struct {
			n    int64
			name string
		}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
			if x != 0 && x%u.n == 0 {
				return fmt.Sprintf("%d%s", x/u.n, u.name)
			}
		}
		return strconv.FormatInt(x, 10)
	case time.Duration:
		switch {
		case x != 0 && x%time.Hour == 0:
			return fmt.Sprintf("%dh", x/time.Hour)
		case x != 0 && x%time.Minute == 0:
			return fmt.Sprintf("%dm", x/time.Minute)
		}
		return x.String()
	}
	return fmt.Sprint(v)
}

// chartValue says where each setting lives in the chart's values, and a
// value to prove it (set with --set or --set-string; want is what the
// process must then see in its variable).
type chartValue struct {
	path   string // what the docs show
	set    string // helm flag: --set or --set-string
	assign string // path=value
	want   string
}

var chartValues = map[string]chartValue{
	"REACH_ADDR":                        {"ports.app", "--set", "ports.app=18080", ":18080"},
	"REACH_CONTENT_ADDR":                {"ports.content", "--set", "ports.content=18081", ":18081"},
	"REACH_PUBLIC_URL":                  {"config.publicURL", "--set-string", "config.publicURL=https://learn.camden.test", "https://learn.camden.test"},
	"REACH_CONTENT_URL":                 {"config.contentURL", "--set-string", "config.contentURL=https://content.camden.test", "https://content.camden.test"},
	"REACH_DATA_DIR":                    {"config.dataDir", "--set-string", "config.dataDir=/srv/reach", "/srv/reach"},
	"REACH_DATABASE_URL":                {"postgresql.url or postgresql.existingSecret", "--set-string", "postgresql.url=postgres://reach:pw@db.test:5432/reach?sslmode=require", "postgres://reach:pw@db.test:5432/reach?sslmode=require"},
	"REACH_REDIS_URL":                   {"redis.url or redis.existingSecret", "--set-string", "redis.url=rediss://redis.test:6380/2", "rediss://redis.test:6380/2"},
	"REACH_REDIS_PREFIX":                {"redis.prefix", "--set-string", "redis.prefix=camden:", "camden:"},
	"REACH_SECRETS_KEY":                 {"encryption.key or encryption.existingSecret", "--set-string", "encryption.key=Y2FtZGVuLXNlY3JldHMta2V5LWZvci10aGUtdGVzdCE=", "Y2FtZGVuLXNlY3JldHMta2V5LWZvci10aGUtdGVzdCE="},
	"REACH_SECRETS_KEYS_PREVIOUS":       {"encryption.previousKeys or encryption.existingSecret", "--set-string", "encryption.previousKeys=Y2FtZGVuLWVhcmxpZXIta2V5LWZvci10aGUtdGVzdCE=", "Y2FtZGVuLWVhcmxpZXIta2V5LWZvci10aGUtdGVzdCE="},
	"REACH_S3_ENDPOINT":                 {"s3.endpoint", "--set-string", "s3.endpoint=objects.test:9000", "objects.test:9000"},
	"REACH_S3_BUCKET":                   {"s3.bucket", "--set-string", "s3.bucket=camden-reach", "camden-reach"},
	"REACH_S3_ACCESS_KEY":               {"s3.accessKey or s3.existingSecret", "--set-string", "s3.accessKey=AKIDCAMDEN", "AKIDCAMDEN"},
	"REACH_S3_SECRET_KEY":               {"s3.secretKey or s3.existingSecret", "--set-string", "s3.secretKey=camden-secret", "camden-secret"},
	"REACH_S3_REGION":                   {"s3.region", "--set-string", "s3.region=eu-west-2", "eu-west-2"},
	"REACH_S3_TLS":                      {"s3.tls", "--set", "s3.tls=false", "false"},
	"REACH_MAX_BODY_BYTES":              {"config.maxBodyBytes", "--set-string", "config.maxBodyBytes=2MiB", "2MiB"},
	"REACH_MAX_UPLOAD_BYTES":            {"config.maxUploadBytes", "--set-string", "config.maxUploadBytes=3GiB", "3GiB"},
	"REACH_MAX_EXPANSION_RATIO":         {"config.maxExpansionRatio", "--set", "config.maxExpansionRatio=40", "40"},
	"REACH_XAPI_MAX_LEARNER_BODY_BYTES": {"config.xapiMaxLearnerBodyBytes", "--set-string", "config.xapiMaxLearnerBodyBytes=2MiB", "2MiB"},
	"REACH_XAPI_MAX_BATCH_STATEMENTS":   {"config.xapiMaxBatchStatements", "--set", "config.xapiMaxBatchStatements=250", "250"},
	"REACH_XAPI_MAX_STATEMENT_BYTES":    {"config.xapiMaxStatementBytes", "--set-string", "config.xapiMaxStatementBytes=32KiB", "32KiB"},
	"REACH_XAPI_MAX_BATCH_BYTES":        {"config.xapiMaxBatchBytes", "--set-string", "config.xapiMaxBatchBytes=8MiB", "8MiB"},
	"REACH_SESSION_TTL":                 {"config.sessionTTL", "--set-string", "config.sessionTTL=7h", "7h"},
	"REACH_SHUTDOWN_TIMEOUT":            {"config.shutdownTimeout", "--set-string", "config.shutdownTimeout=11s", "11s"},
	"REACH_LOG_LEVEL":                   {"config.logLevel", "--set-string", "config.logLevel=debug", "debug"},
	"REACH_XAPI_DEFAULT_VERSION":        {"config.xapiDefaultVersion", "--set-string", "config.xapiDefaultVersion=1.0.3", "1.0.3"},
	"REACH_TRUSTED_PROXIES":             {"config.trustedProxies", "--set-string", "config.trustedProxies=10.1.0.0/16", "10.1.0.0/16"},
	"REACH_DEFAULT_BOROUGH":             {"config.defaultBorough", "--set-string", "config.defaultBorough=camden", "camden"},
	"REACH_ADMIN_EMAIL":                 {"config.adminEmail", "--set-string", "config.adminEmail=ops@camden.test", "ops@camden.test"},
	"REACH_FORWARD_ALLOW_PRIVATE":       {"config.forwardAllowPrivate", "--set", "config.forwardAllowPrivate=true", "true"},
	"REACH_ALLOW_SAME_SITE_CONTENT":     {"config.allowSameSiteContent", "--set", "config.allowSameSiteContent=true", "true"},
	"REACH_INSECURE_DEV_COOKIES":        {"config.insecureDevCookies", "--set", "config.insecureDevCookies=true", "true"},
}

// processEnv is the environment the server container starts with: its
// ConfigMap, plain env values, and secret references resolved against the
// Secrets the release renders.
func processEnv(t *testing.T, r release) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range one[*corev1.ConfigMap](t, r, "ConfigMap").Data {
		env[k] = v
	}
	secrets := map[string]*corev1.Secret{}
	for _, o := range r.all("Secret") {
		secrets[o.name] = o.obj.(*corev1.Secret)
	}
	c := one[*appsv1.Deployment](t, r, "Deployment").Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			s, ok := secrets[ref.Name]
			if !ok {
				t.Fatalf("%s refers to Secret %s, which the release does not render", e.Name, ref.Name)
			}
			env[e.Name] = string(s.Data[ref.Key])
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		}
	}
	return env
}

// TestChartMapsEverySetting: each setting of config.go has one chart value,
// and setting that value reaches the process as its REACH_* variable — in
// one release with every value changed at once, which the binary's own
// config loader then accepts.
func TestChartMapsEverySetting(t *testing.T) {
	var sets []string
	settings := configSettings(t)
	for _, s := range settings {
		cv, ok := chartValues[s.Env]
		if !ok {
			t.Errorf("%s has no chart value: add one to charts/reach (values.yaml, values.schema.json, configmap.yaml or the secret helpers) and to chartValues", s.Env)
			continue
		}
		sets = append(sets, cv.set, cv.assign)
	}
	if len(chartValues) != len(settings) {
		t.Errorf("chartValues has %d entries for %d settings; remove the stale ones", len(chartValues), len(settings))
	}
	r := mustRender(t, nil, sets...)
	checkCommon(t, r)
	env := processEnv(t, r)
	for _, s := range settings {
		cv, ok := chartValues[s.Env]
		if !ok {
			continue
		}
		if got, ok := env[s.Env]; !ok {
			t.Errorf("%s: %s did not reach the process", s.Env, cv.assign)
		} else if got != cv.want {
			t.Errorf("%s = %q, want %q (from %s)", s.Env, got, cv.want, cv.assign)
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("the binary rejects the chart's environment: %v", err)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatalf("the binary rejects the chart's environment: %v", err)
	}
}

// TestChartDefaultsSuitTheBinary: the environment the default values give
// is one the binary accepts, with the binary's own defaults.
func TestChartDefaultsSuitTheBinary(t *testing.T) {
	r := mustRender(t, nil)
	env := processEnv(t, r)
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	def := config.Default()
	def.DataDir = "/data" // the image's and the chart's data volume
	// The binary's plain HTTP suits a local MinIO; an object store reached
	// across a cluster network gets HTTPS unless the operator says otherwise.
	def.S3UseTLS = true
	// In a cluster the ingress controller is the connecting address, so
	// the chart trusts its X-Forwarded-For from the private ranges.
	def.TrustedProxies = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
	if err := def.Finish(); err != nil {
		t.Fatal(err)
	}
	if cfg != def {
		t.Errorf("chart defaults differ from the binary's:\n got %+v\nwant %+v", cfg, def)
	}
}

const (
	beginGenerated = "<!-- BEGIN GENERATED: settings table (go test ./internal/deploytest -run TestConfigurationDoc -update) -->"
	endGenerated   = "<!-- END GENERATED -->"
)

// settingsTable is the reference table of docs/operations/configuration.md.
func settingsTable(t *testing.T) string {
	var b strings.Builder
	b.WriteString("| variable | flag | Helm value | default | meaning |\n|---|---|---|---|---|\n")
	for _, s := range configSettings(t) {
		def := "`" + s.Default + "`"
		if s.Default == "" {
			def = "(empty)"
		}
		name := "`" + s.Env + "`"
		if s.Secret {
			name += " (secret; also `" + s.Env + "_FILE`)"
		}
		fmt.Fprintf(&b, "| %s | `%s` | `%s` | %s | %s |\n", name, s.Flag, chartValues[s.Env].path, def, strings.ReplaceAll(s.Help, "|", `\|`))
	}
	return b.String()
}

// TestConfigurationDoc keeps the configuration reference true to
// config.go: the table between the markers is generated, and -update
// rewrites it.
func TestConfigurationDoc(t *testing.T) {
	path := filepath.Join(repoRoot(t), "docs", "operations", "configuration.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i, j := strings.Index(doc, beginGenerated), strings.Index(doc, endGenerated)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the markers %q … %q", path, beginGenerated, endGenerated)
	}
	want := doc[:i] + beginGenerated + "\n" + settingsTable(t) + doc[j:]
	if want == doc {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is out of date with internal/config; run go test ./internal/deploytest -run TestConfigurationDoc -update", path)
}

func TestFormatDefault(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{20 * time.Second, "20s"},
		{12 * time.Hour, "12h"},
		{90 * time.Minute, "90m"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Duration(0), "0s"},
		{int64(20 << 20), "20MiB"},
		{int64(1 << 30), "1GiB"},
		{int64(1000), "1000"},
		{int64(0), "0"},
		{true, "true"},
		{":8080", ":8080"},
	}
	for _, tt := range tests {
		if got := formatDefault(tt.in); got != tt.want {
			t.Errorf("formatDefault(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
