package server_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/server"
)

var (
	pathParam  = regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	refPattern = regexp.MustCompile(`"#/components/([A-Za-z]+)/([A-Za-z0-9_]+)"`)
)

// TestOpenAPIDocumentMatchesRoutes fails when a JSON API route is missing
// from the OpenAPI document or the document names a route that does not exist.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	var doc struct {
		Paths      map[string]map[string]any `yaml:"paths"`
		Components map[string]map[string]any `yaml:"components"`
	}
	if err := yaml.Unmarshal(server.OpenAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	for _, m := range refPattern.FindAllStringSubmatch(string(server.OpenAPIDocument), -1) {
		if _, ok := doc.Components[m[1]][m[2]]; !ok {
			t.Errorf("openapi.yaml refers to #/components/%s/%s, which it does not define", m[1], m[2])
		}
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	served := map[string]bool{}
	for _, rt := range r.Server.App().Routes() {
		if !strings.HasPrefix(rt.Path, "/api/v1/") && rt.Path != "/oauth/token" {
			continue
		}
		if rt.Method == "echo_route_not_found" || strings.HasSuffix(rt.Path, "/*") {
			continue
		}
		served[rt.Method+" "+pathParam.ReplaceAllString(rt.Path, "{$1}")] = true
	}
	var missing, stale []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from server/openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("server/openapi.yaml documents routes that do not exist:\n  %s", strings.Join(stale, "\n  "))
	}
	for _, u := range []string{"/api/openapi.yaml", "/api/openapi.json"} {
		res, err := http.Get(r.URL + u)
		if err != nil || res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %v %v", u, res, err)
		}
		if res != nil {
			res.Body.Close()
		}
	}
}
