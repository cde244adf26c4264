package deploytest

import (
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// repoRoot is the repository's top directory, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

// instruction is one Dockerfile instruction with its words already split
// (and, for stage-level ARGs, expanded).
type instruction struct {
	cmd      string   // lowercase: from, run, copy, …
	args     []string // the parser's words
	flags    []string // --from=…, --chown=…, --interval=…
	json     bool     // exec form (["a","b"]) rather than shell form
	original string
	line     int
}

// stage is one FROM and the instructions under it.
type stage struct {
	name  string
	base  string // image reference with global ARGs expanded
	instr []instruction
}

// dockerfile is a parsed Dockerfile: global ARG defaults and its stages.
type dockerfile struct {
	globalArgs map[string]string
	stages     []stage
}

// parseDockerfile reads a Dockerfile with BuildKit's own parser, so the test
// sees exactly the instructions a real build would.
func parseDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("BuildKit cannot parse %s: %v", path, err)
	}
	df := dockerfile{globalArgs: map[string]string{}}
	lex := shell.NewLex(parser.DefaultEscapeToken)
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, json: n.Attributes["json"], original: n.Original, line: n.StartLine}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		switch {
		case in.cmd == "arg" && len(df.stages) == 0:
			for _, a := range in.args {
				k, v, _ := strings.Cut(a, "=")
				df.globalArgs[k] = v
			}
		case in.cmd == "from":
			if len(in.args) == 0 {
				t.Fatalf("line %d: FROM without an image", in.line)
			}
			base, _, err := lex.ProcessWord(in.args[0], shell.EnvsFromSlice(envSlice(df.globalArgs)))
			if err != nil {
				t.Fatalf("line %d: expanding %q: %v", in.line, in.args[0], err)
			}
			st := stage{base: base}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				st.name = in.args[2]
			}
			df.stages = append(df.stages, st)
		case len(df.stages) == 0:
			t.Fatalf("line %d: %s before the first FROM", in.line, strings.ToUpper(in.cmd))
		default:
			last := &df.stages[len(df.stages)-1]
			last.instr = append(last.instr, in)
		}
	}
	return df
}

func envSlice(m map[string]string) []string {
	var s []string
	for k, v := range m {
		s = append(s, k+"="+v)
	}
	return s
}

// find returns the stage's instructions of one kind.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instr {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// stageArgs is what a stage's ARG instructions declare (with their
// defaults, or the global default when they only name a global ARG).
func (df dockerfile) stageArgs(s stage) map[string]string {
	args := map[string]string{}
	for _, in := range s.find("arg") {
		for _, a := range in.args {
			k, v, hasDefault := strings.Cut(a, "=")
			if !hasDefault {
				v = df.globalArgs[k]
			}
			args[k] = v
		}
	}
	return args
}

func loadDockerfile(t *testing.T) dockerfile {
	t.Helper()
	return parseDockerfile(t, filepath.Join(repoRoot(t), "Dockerfile"))
}

// Exact versions only: a tag like 1.26.8-bookworm names one release line's
// one patch, while golang:1 or node:24 move under the build.
var exactVersionTag = regexp.MustCompile(`^v?\d+\.\d+\.\d+([-.][a-z0-9.-]+)?$`)

// TestDockerfileBaseImagesPinned: every stage's base is pinned — an exact
// version tag, or a digest — and nothing says latest. Distroless has no
// version tags; its variant tag is allowed, a digest preferred.
func TestDockerfileBaseImagesPinned(t *testing.T) {
	df := loadDockerfile(t)
	names := map[string]bool{}
	for _, s := range df.stages {
		if names[s.base] {
			continue // FROM an earlier stage
		}
		if s.name != "" {
			names[s.name] = true
		}
		ref, digest, hasDigest := strings.Cut(s.base, "@")
		if hasDigest && !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
			t.Errorf("FROM %s: digest %q is not sha256:<64 hex>", s.base, digest)
		}
		repo, tag := splitTag(ref)
		switch {
		case tag == "" && !hasDigest:
			t.Errorf("FROM %s: no tag, which means latest; pin an exact version", s.base)
		case tag == "latest":
			t.Errorf("FROM %s: the latest tag moves; pin an exact version", s.base)
		case strings.HasPrefix(repo, "gcr.io/distroless/"):
			if !hasDigest && tag != "nonroot" {
				t.Errorf("FROM %s: use distroless's nonroot variant (or a digest)", s.base)
			}
		case !hasDigest && !exactVersionTag.MatchString(tag):
			t.Errorf("FROM %s: tag %q is not an exact version such as 1.26.8-bookworm", s.base, tag)
		}
	}
}

// splitTag separates repository and tag, minding registry ports
// (localhost:5000/x has no tag).
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

func TestDockerfileGoVersionMatchesGoMod(t *testing.T) {
	df := loadDockerfile(t)
	mod, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	want := string(m[1])
	var base string
	for _, s := range df.stages {
		if strings.HasPrefix(s.base, "golang:") {
			base = s.base
		}
	}
	if base == "" {
		t.Fatal("no golang build stage")
	}
	_, tag := splitTag(base)
	if got := strings.SplitN(tag, "-", 2)[0]; versionLess(got, want) {
		t.Errorf("build stage uses Go %s, but go.mod needs %s", got, want)
	}
}

// versionLess compares dotted numeric versions.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(pa), len(pb)); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// TestDockerfileFinalStage holds the runtime rules: distroless static base,
// numeric non-root user, health check through the binary itself, both
// ports, OCI labels, and nothing that would need a shell.
func TestDockerfileFinalStage(t *testing.T) {
	df := loadDockerfile(t)
	if len(df.stages) < 2 {
		t.Fatalf("got %d stage(s), want a multi-stage build", len(df.stages))
	}
	final := df.stages[len(df.stages)-1]
	if !strings.HasPrefix(final.base, "gcr.io/distroless/static") {
		t.Errorf("final base %s, want gcr.io/distroless/static…", final.base)
	}

	users := final.find("user")
	if len(users) == 0 {
		t.Error("final stage has no USER; the image would run as root")
	} else {
		u := users[len(users)-1].args[0]
		uid, gid, _ := strings.Cut(u, ":")
		n, err := strconv.Atoi(uid)
		if err != nil || n == 0 {
			t.Errorf("USER %s: want a numeric non-root uid (Kubernetes runAsNonRoot can only verify numbers)", u)
		}
		if gid != "" {
			if g, err := strconv.Atoi(gid); err != nil || g == 0 {
				t.Errorf("USER %s: want a numeric non-root gid", u)
			}
		}
	}

	// The final stage has no shell: no RUN, and every command in exec form.
	if runs := final.find("run"); len(runs) > 0 {
		t.Errorf("line %d: RUN in the final stage needs a shell the image does not have", runs[0].line)
	}
	for _, cmd := range []string{"entrypoint", "cmd"} {
		ins := final.find(cmd)
		if len(ins) == 0 {
			t.Errorf("final stage has no %s", strings.ToUpper(cmd))
		}
		for _, in := range ins {
			if !in.json {
				t.Errorf("line %d: %s in shell form needs /bin/sh; use the exec form", in.line, strings.ToUpper(cmd))
			}
		}
	}
	entry := final.find("entrypoint")
	var binary string
	if len(entry) > 0 {
		binary = entry[len(entry)-1].args[0]
	}

	hcs := final.find("healthcheck")
	if len(hcs) != 1 {
		t.Errorf("got %d HEALTHCHECK, want 1", len(hcs))
	} else {
		hc := hcs[0]
		// The parser yields ["CMD", <exec-form words>…].
		if len(hc.args) < 3 || !strings.EqualFold(hc.args[0], "CMD") || !hc.json {
			t.Errorf("HEALTHCHECK %q: want the exec form CMD [\"%s\", \"healthcheck\"]", hc.original, binary)
		} else if hc.args[1] != binary || hc.args[2] != "healthcheck" {
			t.Errorf("HEALTHCHECK runs %v, want [%s healthcheck]", hc.args[1:], binary)
		}
	}

	var exposed []string
	for _, in := range final.find("expose") {
		exposed = append(exposed, in.args...)
	}
	for _, port := range []string{"8080", "8081"} {
		if !slices.Contains(exposed, port) && !slices.Contains(exposed, port+"/tcp") {
			t.Errorf("EXPOSE lacks %s (got %v)", port, exposed)
		}
	}

	labels := map[string]string{}
	for _, in := range final.find("label") {
		// BuildKit gives LABEL's pairs as triples: key, quoted value, "=".
		for i := 0; i+1 < len(in.args); i += 3 {
			labels[in.args[i]] = strings.Trim(in.args[i+1], `"`)
		}
	}
	for _, key := range []string{"title", "description", "source", "version", "revision", "licenses"} {
		if labels["org.opencontainers.image."+key] == "" {
			t.Errorf("no org.opencontainers.image.%s label", key)
		}
	}

	// The data directory exists in the image and belongs to the runtime
	// user, since nothing in the image can create or chown it later.
	var ownsData bool
	for _, in := range final.find("copy") {
		if len(in.args) > 0 && in.args[len(in.args)-1] == "/data" && slices.ContainsFunc(in.flags, func(f string) bool { return strings.HasPrefix(f, "--chown=65532") }) {
			ownsData = true
		}
	}
	if !ownsData {
		t.Error("final stage does not create /data owned by 65532")
	}
}

// TestDockerfileWebStage keeps the front-end stage honest: it installs from
// the lockfile, runs the build script package.json defines, and the Go
// stage takes its output.
func TestDockerfileWebStage(t *testing.T) {
	root := repoRoot(t)
	df := loadDockerfile(t)
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	raw, err := os.ReadFile(filepath.Join(root, "web", "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatalf("web/package.json: %v", err)
	}
	var web *stage
	for i := range df.stages {
		if strings.HasPrefix(df.stages[i].base, "node:") {
			web = &df.stages[i]
		}
	}
	if web == nil {
		t.Fatal("no node stage for the front-end build")
	}
	var runs []string
	for _, in := range web.find("run") {
		runs = append(runs, strings.Join(in.args, " "))
	}
	joined := strings.Join(runs, "\n")
	if !strings.Contains(joined, "npm ci") {
		t.Errorf("web stage does not run npm ci (runs: %q)", runs)
	}
	if strings.Contains(joined, "npm install") {
		t.Error("web stage runs npm install, which ignores the lockfile; use npm ci")
	}
	if _, ok := pkg.Scripts["build"]; ok && !regexp.MustCompile(`npm run build\b`).MatchString(joined) {
		t.Error("web/package.json defines a build script the web stage never runs")
	}
	var copiesLock bool
	for _, in := range web.find("copy") {
		copiesLock = copiesLock || slices.Contains(in.args, "web/package-lock.json")
	}
	if !copiesLock {
		t.Error("web stage does not copy web/package-lock.json, so npm ci cannot run")
	}
	build := df.stages[len(df.stages)-2]
	var fromWeb []instruction
	for _, in := range build.find("copy") {
		if slices.Contains(in.flags, "--from="+web.name) {
			fromWeb = append(fromWeb, in)
		}
	}
	if len(fromWeb) == 0 {
		t.Errorf("the Go build stage does not copy from the %q stage", web.name)
	}

	// Where the build script writes (esbuild's --outdir, relative to web/)
	// is what the Go stage must take, to the same place in its tree, where
	// go:embed finds it.
	script, ok := pkg.Scripts["build"]
	if !ok {
		return
	}
	m := regexp.MustCompile(`--outdir[= ](\S+)`).FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("cannot tell where the build script %q writes; teach this test", script)
	}
	webDir, buildDir := workdir(*web), workdir(build)
	if path.Base(webDir) != "web" {
		t.Fatalf("web stage WORKDIR %s: keep the repository layout (…/web) so relative output paths hold", webDir)
	}
	out := path.Join(webDir, m[1])
	rel, err := filepath.Rel(path.Dir(webDir), out)
	if err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("build output %s is outside the source tree", out)
	}
	if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
		t.Errorf("build output %s has no directory in the repository: %v", rel, err)
	}
	var copied bool
	for _, in := range fromWeb {
		if len(in.args) == 2 && path.Clean(in.args[0]) == out && path.Join(buildDir, in.args[1]) == path.Join(buildDir, rel) {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the build script writes %s, but the Go stage does not COPY --from=%s %s ./%s", out, web.name, out, rel)
	}
}

// workdir is a stage's last WORKDIR.
func workdir(s stage) string {
	dir := "/"
	for _, in := range s.find("workdir") {
		dir = path.Join(dir, in.args[0])
	}
	return dir
}

// TestDockerignore keeps secrets and bulk out of the build context.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".git", "data", "bin", "web/node_modules"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

// goBuild is the image's `go build` command: its environment assignments
// and arguments, as the shell in the build stage would see them.
type goBuild struct {
	env  []string
	args []string // after "go"
}

// imageGoBuild extracts the go build RUN line from the build stage and
// expands it with the stage's ARG defaults.
func imageGoBuild(t *testing.T, df dockerfile) goBuild {
	t.Helper()
	for _, s := range df.stages {
		args := df.stageArgs(s)
		for _, in := range s.find("run") {
			line := strings.Join(in.args, " ")
			if !strings.Contains(line, "go build") {
				continue
			}
			if strings.ContainsAny(line, "&|;") {
				t.Fatalf("line %d: keep the go build RUN a single command so CI can repeat it: %s", in.line, line)
			}
			words, err := shell.NewLex(parser.DefaultEscapeToken).ProcessWords(line, shell.EnvsFromSlice(envSlice(args)))
			if err != nil {
				t.Fatalf("line %d: %v", in.line, err)
			}
			var gb goBuild
			i := 0
			for ; i < len(words) && strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-"); i++ {
				gb.env = append(gb.env, words[i])
			}
			if i >= len(words) || words[i] != "go" {
				t.Fatalf("line %d: expected VAR=… go build …, got %q", in.line, words)
			}
			gb.args = words[i+1:]
			return gb
		}
	}
	t.Fatal("no RUN … go build in the Dockerfile")
	return goBuild{}
}

// TestImageBinaryIsStatic builds cmd/reach exactly as the image does and
// proves the result needs no dynamic loader (distroless static has none),
// carries the build settings the image asks for, and runs.
func TestImageBinaryIsStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary")
	}
	root := repoRoot(t)
	gb := imageGoBuild(t, loadDockerfile(t))
	env := map[string]string{}
	for _, kv := range gb.env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	if env["CGO_ENABLED"] != "0" {
		t.Errorf("image builds with CGO_ENABLED=%q, want 0", env["CGO_ENABLED"])
	}
	if !slices.Contains(gb.args, "-trimpath") {
		t.Error("image build lacks -trimpath")
	}
	if env["GOOS"] != "" && env["GOOS"] != "linux" {
		t.Fatalf("image builds for GOOS=%s", env["GOOS"])
	}

	// Swap the output path for a temporary one; keep every other argument.
	out := filepath.Join(t.TempDir(), "reach")
	args := slices.Clone(gb.args)
	o := slices.Index(args, "-o")
	if o < 0 || o+1 >= len(args) {
		t.Fatalf("image build has no -o: %q", gb.args)
	}
	args[o+1] = out
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), gb.env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}

	f, err := elf.Open(out)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary has PT_INTERP: it needs a dynamic loader distroless/static lacks")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Error("binary has a PT_DYNAMIC segment: it is dynamically linked")
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Error("binary has a .dynamic section")
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("binary imports shared libraries %v", libs)
	}

	bi, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != want {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], want)
		}
	}

	// -X main.version must reach the binary: the image reports its version.
	version, _ := exec.Command(out, "version").Output()
	if got := strings.TrimSpace(string(version)); got != "reach dev" {
		t.Errorf("reach version printed %q, want %q (the Dockerfile's VERSION default)", got, "reach dev")
	}
}
