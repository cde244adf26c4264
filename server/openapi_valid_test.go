package server_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.yaml.in/yaml/v3"

	"github.com/reach-london/reach/client"
	"github.com/reach-london/reach/internal/reachtest"
	"github.com/reach-london/reach/server"
)

// TestServedOpenAPIDocumentIsValid loads the document a real server
// serves, as YAML and as JSON, with kin-openapi and validates it against
// the OpenAPI 3.0 rules, so that generated clients can use it; then it
// checks real answers of a few routes against their documented schemas.
func TestServedOpenAPIDocumentIsValid(t *testing.T) {
	ctx := context.Background()
	// kin-openapi ignores unknown keys in some places (parameters, for
	// one); an unquoted comma in a flow mapping makes exactly such a key,
	// with no value. The document has no empty values, so any is a slip.
	var root yaml.Node
	if err := yaml.Unmarshal(server.OpenAPIDocument, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; v.Tag == "!!null" {
					t.Errorf("openapi.yaml line %d: key %q has no value (an unquoted comma in a description?)", n.Content[i].Line, n.Content[i].Value)
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	r := reachtest.Start(t, reachtest.Backend{Name: "embedded"})
	var doc *openapi3.T
	for _, path := range []string{"/api/openapi.yaml", "/api/openapi.json"} {
		res, err := http.Get(r.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, raw)
		}
		loader := openapi3.NewLoader()
		d, err := loader.LoadFromData(raw)
		if err != nil {
			t.Fatalf("%s does not load as OpenAPI: %v", path, err)
		}
		if err := d.Validate(loader.Context); err != nil {
			t.Fatalf("%s is not a valid OpenAPI document: %v", path, err)
		}
		doc = d
	}

	// Real answers match their schemas.
	doc.Servers = openapi3.Servers{{URL: r.URL}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	ac := client.New(r.URL)
	if _, err := ac.Login(ctx, "", r.AdminEmail, r.AdminPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateForwarding(ctx, "london", client.ForwardingInput{Name: ptrTo("Council LRS"),
		Endpoint: ptrTo("https://lrs.example.org/xapi/"), AuthType: ptrTo("bearer"), Secret: ptrTo("t")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ac.CreateCredential(ctx, "london", "LMS", "all/read"); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/me", "/api/v1/boroughs", "/api/v1/boroughs/london/credentials",
		"/api/v1/boroughs/london/forwarding", "/api/v1/forwarding", "/api/v1/boroughs/nope/credentials"} {
		req, _ := http.NewRequest(http.MethodGet, r.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+ac.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		u, _ := url.Parse(r.URL + path)
		route, params, err := router.FindRoute(&http.Request{Method: http.MethodGet, URL: u})
		if err != nil {
			t.Errorf("GET %s: no documented route: %v", path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}})
		if err != nil {
			t.Errorf("GET %s answered %d %s, which its schema does not allow: %v", path, res.StatusCode, body, err)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
