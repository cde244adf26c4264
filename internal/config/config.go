// Package config loads Reach's one typed configuration from environment
// variables (REACH_*, with *_FILE variants for secrets) and command-line
// flags, applies defaults, and validates it as a whole.
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/reach-london/reach/internal/secretbox"
)

// Config is every setting of a Reach process. Empty backend URLs mean the
// embedded defaults: SQLite and a local blob directory under DataDir, and an
// in-process cache.
type Config struct {
	Addr        string `env:"REACH_ADDR" help:"app listen address (portal, admin, API, /xapi)"`
	ContentAddr string `env:"REACH_CONTENT_ADDR" help:"content-origin listen address (player and package files)"`
	PublicURL   string `env:"REACH_PUBLIC_URL" help:"external URL of the app origin"`
	ContentURL  string `env:"REACH_CONTENT_URL" help:"external URL of the content origin; must be on another site than the app origin (empty: http://127.0.0.1:<content port>)"`
	// AllowSameSiteContent accepts a content origin on the app's site
	// (same registrable domain, or same host on another port), where a
	// package's script can plant or read cookies of the app's host.
	AllowSameSiteContent bool `env:"REACH_ALLOW_SAME_SITE_CONTENT" help:"accept a content URL on the app's site (same registrable domain, or the same host on another port); unsafe: logs a warning at every start"`
	// InsecureDevCookies lets a plain-http app origin on a host browsers do
	// not treat as secure (not localhost or a loopback address) sign people
	// in: its cookies lose the __Host- prefix and the Secure attribute.
	InsecureDevCookies bool   `env:"REACH_INSECURE_DEV_COOKIES" help:"development only: allow a plain-http REACH_PUBLIC_URL on a host other than localhost or a loopback address, with cookies that are not Secure and have no __Host- prefix; logs a warning at every start"`
	DataDir            string `env:"REACH_DATA_DIR" help:"directory for the embedded database, blobs and keys"`

	DatabaseURL string `env:"REACH_DATABASE_URL" secret:"true" help:"postgres://… for PostgreSQL; empty for SQLite in the data directory"`
	RedisURL    string `env:"REACH_REDIS_URL" secret:"true" help:"redis://… to share cache, tokens and queues between replicas; empty for in-process"`
	RedisPrefix string `env:"REACH_REDIS_PREFIX" help:"prefix of every Redis key, so deployments can share one Redis"`

	SecretsKey          string `env:"REACH_SECRETS_KEY" secret:"true" help:"base64 32-byte key that seals stored forwarding credentials and signing keys; the same on every replica ('reach secrets new-key'); empty: a key file in the data directory with the embedded database, none with PostgreSQL"`
	SecretsKeysPrevious string `env:"REACH_SECRETS_KEYS_PREVIOUS" secret:"true" help:"comma-separated earlier secrets keys, which still open what they sealed until 'reach secrets reseal' has run"`

	S3Endpoint  string `env:"REACH_S3_ENDPOINT" help:"host:port of an S3-compatible store; empty for the local blob directory"`
	S3Bucket    string `env:"REACH_S3_BUCKET" help:"bucket for content, attachments and exports"`
	S3AccessKey string `env:"REACH_S3_ACCESS_KEY" secret:"true" help:"S3 access key"`
	S3SecretKey string `env:"REACH_S3_SECRET_KEY" secret:"true" help:"S3 secret key"`
	S3Region    string `env:"REACH_S3_REGION" help:"S3 region"`
	S3UseTLS    bool   `env:"REACH_S3_TLS" help:"use HTTPS to reach the S3 endpoint"`

	MaxBodyBytes   int64 `env:"REACH_MAX_BODY_BYTES" help:"largest request body outside uploads, in bytes"`
	MaxUploadBytes int64 `env:"REACH_MAX_UPLOAD_BYTES" help:"largest package upload, in bytes"`
	// MaxExpansionRatio bounds a whole package zip's expansion (files'
	// total size over the zip's size) once the files pass 64 MiB.
	MaxExpansionRatio int64 `env:"REACH_MAX_EXPANSION_RATIO" help:"most times a package zip may expand as a whole (its files' total size over the zip's size), checked once the files pass 64 MiB"`

	XAPIMaxLearnerBodyBytes int64 `env:"REACH_XAPI_MAX_LEARNER_BODY_BYTES" help:"largest xAPI request body sent with a learner's launch token (statements, documents, attachments), in bytes"`
	XAPIMaxBatchStatements  int64 `env:"REACH_XAPI_MAX_BATCH_STATEMENTS" help:"most statements one xAPI request may store"`
	XAPIMaxStatementBytes   int64 `env:"REACH_XAPI_MAX_STATEMENT_BYTES" help:"largest single statement, as JSON, in bytes"`
	XAPIMaxBatchBytes       int64 `env:"REACH_XAPI_MAX_BATCH_BYTES" help:"largest statements JSON of one xAPI request (attachments aside, which count against REACH_MAX_BODY_BYTES), in bytes"`

	SessionTTL          time.Duration `env:"REACH_SESSION_TTL" help:"how long a sign-in lasts"`
	ShutdownTimeout     time.Duration `env:"REACH_SHUTDOWN_TIMEOUT" help:"how long shutdown waits for in-flight requests"`
	LogLevel            string        `env:"REACH_LOG_LEVEL" help:"debug, info, warn or error"`
	XAPIVersion         string        `env:"REACH_XAPI_DEFAULT_VERSION" help:"the xAPI version (2.0.0 or 1.0.3) the LRS names in answers to requests that state none"`
	TrustedProxies      string        `env:"REACH_TRUSTED_PROXIES" help:"comma-separated CIDRs of proxies whose X-Forwarded-For names the client; empty: the connecting address is the client"`
	ForwardAllowPrivate bool          `env:"REACH_FORWARD_ALLOW_PRIVATE" help:"let forwarding targets be on loopback and private networks (an LRS on premises); refused by default, and link-local (cloud metadata) and reserved addresses are refused always"`
	DefaultBorough      string        `env:"REACH_DEFAULT_BOROUGH" help:"slug of the borough created on first run"`
	AdminEmail          string        `env:"REACH_ADMIN_EMAIL" help:"email of the platform admin created on first run"`
}

// Default returns the embedded defaults.
func Default() Config {
	return Config{
		Addr:              ":8080",
		ContentAddr:       ":8081",
		DataDir:           "./data",
		RedisPrefix:       "reach:",
		S3Region:          "us-east-1",
		MaxBodyBytes:      20 << 20,
		MaxUploadBytes:    1 << 30,
		MaxExpansionRatio: 100,

		XAPIMaxLearnerBodyBytes: 1 << 20,
		XAPIMaxBatchStatements:  1000,
		XAPIMaxStatementBytes:   64 << 10,
		XAPIMaxBatchBytes:       4 << 20,
		SessionTTL:              12 * time.Hour,
		ShutdownTimeout:         20 * time.Second,
		LogLevel:                "info",
		XAPIVersion:             "2.0.0",
		DefaultBorough:          "london",
		AdminEmail:              "admin@reach.localhost",
	}
}

// Load returns the defaults overridden by the environment (getenv is
// os.Getenv in production, a map in tests). A variable NAME_FILE names a
// file whose trimmed contents are the value of a secret NAME.
func Load(getenv func(string) string) (Config, error) {
	c := Default()
	var problems []string
	v := reflect.ValueOf(&c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("env")
		raw, set := getenv(name), getenv(name) != ""
		if file := getenv(name + "_FILE"); file != "" {
			if f.Tag.Get("secret") != "true" {
				problems = append(problems, fmt.Sprintf("%s_FILE: only secrets can be read from files", name))
				continue
			}
			if set {
				problems = append(problems, fmt.Sprintf("%s and %s_FILE are both set; set one", name, name))
				continue
			}
			b, err := os.ReadFile(file)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s_FILE: %v", name, err))
				continue
			}
			raw, set = strings.TrimSpace(string(b)), true
		}
		if !set {
			continue
		}
		if err := setField(v.Field(i), raw); err != nil {
			problems = append(problems, fmt.Sprintf("%s=%q: %v", name, maskIf(f, raw), err))
		}
	}
	if len(problems) > 0 {
		return c, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return c, nil
}

func maskIf(f reflect.StructField, raw string) string {
	if f.Tag.Get("secret") == "true" {
		return mask(raw)
	}
	return raw
}

func setField(fv reflect.Value, raw string) error {
	switch fv.Interface().(type) {
	case string:
		fv.SetString(raw)
	case bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return errors.New("want true or false")
		}
		fv.SetBool(b)
	case int64:
		n, err := parseBytes(raw)
		if err != nil {
			return err
		}
		fv.SetInt(n)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return errors.New("want a duration such as 30s or 12h")
		}
		fv.SetInt(int64(d))
	}
	return nil
}

// parseBytes reads a byte count, allowing KiB/MiB/GiB suffixes.
func parseBytes(raw string) (int64, error) {
	mult := int64(1)
	s := strings.TrimSpace(raw)
	for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if strings.HasSuffix(s, suffix) {
			mult, s = m, strings.TrimSuffix(s, suffix)
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a byte count such as 1048576 or 20MiB")
	}
	return n * mult, nil
}

// byteFlag lets an int64 byte count take the same suffixes on the command line.
type byteFlag struct{ p *int64 }

func (b byteFlag) String() string {
	if b.p == nil {
		return "0"
	}
	return strconv.FormatInt(*b.p, 10)
}
func (b byteFlag) Set(s string) error {
	n, err := parseBytes(s)
	if err == nil {
		*b.p = n
	}
	return err
}

// RegisterFlags adds a flag per setting (e.g. --database-url for
// REACH_DATABASE_URL) whose default is the value already in c, so flags
// override the environment.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := FlagName(f.Tag.Get("env"))
		usage := f.Tag.Get("help") + " (" + f.Tag.Get("env") + ")"
		switch p := v.Field(i).Addr().Interface().(type) {
		case *string:
			fs.StringVar(p, name, *p, usage)
		case *bool:
			fs.BoolVar(p, name, *p, usage)
		case *int64:
			fs.Var(byteFlag{p}, name, usage)
		case *time.Duration:
			fs.DurationVar(p, name, *p, usage)
		}
	}
}

// FlagName turns REACH_DATABASE_URL into database-url.
func FlagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "REACH_")), "_", "-")
}

// Finish fills settings derived from others (URLs from listen addresses,
// the SQLite path from the data directory) and validates the whole.
func (c *Config) Finish() error {
	// The two derived URLs name the same machine by two names, localhost
	// and 127.0.0.1, so that the two origins are different sites as
	// browsers see them: a package's script on one cannot read or plant
	// the cookies of the other.
	if c.PublicURL == "" {
		c.PublicURL = "http://" + localHost(c.Addr, "localhost")
	}
	if c.ContentURL == "" {
		c.ContentURL = "http://" + localHost(c.ContentAddr, "127.0.0.1")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	c.ContentURL = strings.TrimRight(c.ContentURL, "/")
	return c.Validate()
}

// localHost is the URL host of a listen address: name for a wildcard or
// loopback address, else the address's own host.
func localHost(addr, name string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" || host == "localhost" || isLoopbackIP(host) {
		host = name
	}
	return net.JoinHostPort(host, port)
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Site is the site of an http(s) URL's host as browsers decide
// same-site: its registrable domain (public suffix plus one label, from
// the public suffix list), or the host itself for IP addresses and hosts
// that have none. Ports and schemes do not count.
func Site(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(strings.Trim(host, "[]")) != nil {
		return strings.Trim(host, "[]")
	}
	if d, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return d
	}
	return host
}

// SameSiteContent reports whether the content URL is on the app's site.
func (c *Config) SameSiteContent() bool {
	pub, err1 := url.Parse(c.PublicURL)
	cnt, err2 := url.Parse(c.ContentURL)
	return err1 == nil && err2 == nil && Site(pub.Hostname()) == Site(cnt.Hostname())
}

// SecureCookies reports whether browsers keep Secure cookies for the app
// origin: over HTTPS, and over plain HTTP on localhost and loopback
// addresses, which browsers treat as potentially trustworthy.
func (c *Config) SecureCookies() bool {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	h := strings.ToLower(u.Hostname())
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || isLoopbackIP(h)
}

// Validate reports every problem at once, each naming its setting.
func (c *Config) Validate() error {
	var p []string
	add := func(env, format string, args ...any) {
		p = append(p, fmt.Sprintf("%s (--%s): %s", env, FlagName(env), fmt.Sprintf(format, args...)))
	}
	for env, addr := range map[string]string{"REACH_ADDR": c.Addr, "REACH_CONTENT_ADDR": c.ContentAddr} {
		if _, port, err := net.SplitHostPort(addr); err != nil {
			add(env, "%q is not a host:port listen address", addr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			add(env, "%q has no valid port", addr)
		}
	}
	if c.Addr == c.ContentAddr && !strings.HasSuffix(c.Addr, ":0") {
		add("REACH_CONTENT_ADDR", "must differ from REACH_ADDR: content never runs on the app origin")
	}
	pub, errPub := checkHTTPURL(c.PublicURL)
	if errPub != nil {
		add("REACH_PUBLIC_URL", "%v", errPub)
	}
	cnt, errCnt := checkHTTPURL(c.ContentURL)
	if errCnt != nil {
		add("REACH_CONTENT_URL", "%v", errCnt)
	}
	if errPub == nil && errCnt == nil && pub.Scheme == cnt.Scheme && pub.Host == cnt.Host {
		add("REACH_CONTENT_URL", "%q is the same origin as REACH_PUBLIC_URL; uploaded content must run on its own origin", c.ContentURL)
	}
	if errPub == nil && errCnt == nil && !(pub.Scheme == cnt.Scheme && pub.Host == cnt.Host) &&
		c.SameSiteContent() && !c.AllowSameSiteContent {
		add("REACH_CONTENT_URL", "%q is on the same site as REACH_PUBLIC_URL (%s): a package's script could then plant or read the app's cookies and its requests count as same-site; "+
			"put content on another registrable domain (e.g. app on localhost, content on 127.0.0.1; or reach.example and reach-content.example), or accept the risk with REACH_ALLOW_SAME_SITE_CONTENT=true",
			c.ContentURL, Site(pub.Hostname()))
	}
	if errPub == nil && !c.SecureCookies() && !c.InsecureDevCookies {
		add("REACH_PUBLIC_URL", "%q is plain HTTP on a host browsers do not treat as secure, so they would drop Reach's Secure __Host- session cookies; "+
			"serve it over HTTPS, use localhost or a loopback address, or for development only set REACH_INSECURE_DEV_COOKIES=true", c.PublicURL)
	}
	if c.DataDir == "" {
		add("REACH_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" {
		if err := checkDatabaseURL(c.DatabaseURL); err != nil {
			add("REACH_DATABASE_URL", "%v", err)
		}
	}
	if c.SecretsKey != "" {
		if _, err := secretbox.ParseKey(c.SecretsKey); err != nil {
			add("REACH_SECRETS_KEY", "%v", err)
		}
	}
	if c.SecretsKeysPrevious != "" {
		if c.SecretsKey == "" {
			add("REACH_SECRETS_KEYS_PREVIOUS", "needs REACH_SECRETS_KEY: previous keys only open, the current key seals")
		}
		for i, k := range strings.Split(c.SecretsKeysPrevious, ",") {
			if _, err := secretbox.ParseKey(k); err != nil {
				add("REACH_SECRETS_KEYS_PREVIOUS", "key %d: %v", i+1, err)
			}
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			add("REACH_REDIS_URL", "%q is not a redis:// or rediss:// URL with a host", mask(c.RedisURL))
		}
	}
	if c.S3Endpoint != "" {
		if strings.Contains(c.S3Endpoint, "://") || strings.Contains(c.S3Endpoint, "/") {
			add("REACH_S3_ENDPOINT", "%q must be host:port without a scheme (use REACH_S3_TLS for HTTPS)", c.S3Endpoint)
		}
		if c.S3Bucket == "" {
			add("REACH_S3_BUCKET", "required when REACH_S3_ENDPOINT is set")
		}
		if c.S3AccessKey == "" || c.S3SecretKey == "" {
			add("REACH_S3_ACCESS_KEY", "REACH_S3_ACCESS_KEY and REACH_S3_SECRET_KEY are required when REACH_S3_ENDPOINT is set")
		}
	}
	if c.MaxBodyBytes < 1<<10 {
		add("REACH_MAX_BODY_BYTES", "must be at least 1KiB")
	}
	if c.MaxUploadBytes < 1<<20 {
		add("REACH_MAX_UPLOAD_BYTES", "must be at least 1MiB")
	}
	if c.MaxExpansionRatio < 2 {
		add("REACH_MAX_EXPANSION_RATIO", "must be at least 2")
	}
	if c.XAPIMaxLearnerBodyBytes < 16<<10 {
		add("REACH_XAPI_MAX_LEARNER_BODY_BYTES", "must be at least 16KiB")
	}
	if c.XAPIMaxBatchStatements < 1 {
		add("REACH_XAPI_MAX_BATCH_STATEMENTS", "must be at least 1")
	}
	if c.XAPIMaxStatementBytes < 4<<10 {
		add("REACH_XAPI_MAX_STATEMENT_BYTES", "must be at least 4KiB")
	}
	if c.XAPIMaxBatchBytes < c.XAPIMaxStatementBytes {
		add("REACH_XAPI_MAX_BATCH_BYTES", "must be at least REACH_XAPI_MAX_STATEMENT_BYTES (%d)", c.XAPIMaxStatementBytes)
	}
	if c.SessionTTL < time.Minute {
		add("REACH_SESSION_TTL", "must be at least 1m")
	}
	if c.ShutdownTimeout <= 0 {
		add("REACH_SHUTDOWN_TIMEOUT", "must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		add("REACH_LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.XAPIVersion != "2.0.0" && c.XAPIVersion != "1.0.3" {
		add("REACH_XAPI_DEFAULT_VERSION", "%q must be 2.0.0 or 1.0.3", c.XAPIVersion)
	}
	for _, cidr := range c.TrustedProxyNets() {
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			add("REACH_TRUSTED_PROXIES", "%q is not a CIDR such as 10.0.0.0/8", cidr)
		}
	}
	if !slugOK(c.DefaultBorough) {
		add("REACH_DEFAULT_BOROUGH", "%q must be lowercase letters, digits and hyphens", c.DefaultBorough)
	}
	if !strings.Contains(c.AdminEmail, "@") {
		add("REACH_ADMIN_EMAIL", "%q is not an email address", c.AdminEmail)
	}
	if len(p) > 0 {
		sort.Strings(p)
		return errors.New("invalid configuration:\n  " + strings.Join(p, "\n  "))
	}
	return nil
}

func checkHTTPURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return u, nil
}

func checkDatabaseURL(raw string) error {
	if strings.HasPrefix(raw, "sqlite:") {
		if strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite://"), "sqlite:") == "" {
			return errors.New("sqlite: URL has no path")
		}
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", mask(raw))
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("%q must start with postgres://, postgresql:// or sqlite:PATH", mask(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("%q has no host", mask(raw))
	}
	return nil
}

// SlugOK reports whether s is a valid borough slug.
func slugOK(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// TrustedProxyNets lists the CIDRs in TrustedProxies.
func (c *Config) TrustedProxyNets() []string {
	var out []string
	for _, f := range strings.Split(c.TrustedProxies, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// SQLitePath is where the embedded database lives.
func (c *Config) SQLitePath() string { return filepath.Join(c.DataDir, "reach.db") }

// EffectiveDatabaseURL is DatabaseURL, or the embedded SQLite database.
func (c *Config) EffectiveDatabaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite:" + c.SQLitePath()
}

// SecretsKeyFile is where the embedded setup keeps its secrets key when
// REACH_SECRETS_KEY is not set.
func (c *Config) SecretsKeyFile() string { return filepath.Join(c.DataDir, "secrets.key") }

// SecretsKeys returns the current secrets key and the previous ones,
// decoded; nil when REACH_SECRETS_KEY is not set. Validate has checked
// them.
func (c *Config) SecretsKeys() (current []byte, previous [][]byte, err error) {
	if c.SecretsKey == "" {
		return nil, nil, nil
	}
	if current, err = secretbox.ParseKey(c.SecretsKey); err != nil {
		return nil, nil, fmt.Errorf("REACH_SECRETS_KEY: %w", err)
	}
	if c.SecretsKeysPrevious != "" {
		for i, s := range strings.Split(c.SecretsKeysPrevious, ",") {
			k, err := secretbox.ParseKey(s)
			if err != nil {
				return nil, nil, fmt.Errorf("REACH_SECRETS_KEYS_PREVIOUS key %d: %w", i+1, err)
			}
			previous = append(previous, k)
		}
	}
	return current, previous, nil
}

// BlobDir is where the local blob store keeps files.
func (c *Config) BlobDir() string { return filepath.Join(c.DataDir, "blobs") }

// Dump lists every setting as NAME=value with secrets masked, for
// --print-config.
func (c *Config) Dump() string {
	var b strings.Builder
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" && val != "" {
			val = mask(val)
		}
		fmt.Fprintf(&b, "%s=%s\n", f.Tag.Get("env"), val)
	}
	return b.String()
}

// mask hides secrets: a URL keeps its scheme and host, anything else
// becomes asterisks.
func mask(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		if u.User != nil {
			u.User = url.UserPassword("****", "****")
		}
		if u.RawQuery != "" {
			u.RawQuery = "****"
		}
		return u.String()
	}
	return "********"
}
