package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
)

// FuzzBindJSON feeds arbitrary bodies through the app origin's JSON
// binding (textBinder with the strict serializer): a body is either
// refused with a client error, or every string bound from it is valid
// UTF-8 without NUL and the body named no field the target lacks.
func FuzzBindJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Camden","slug":"camden"}`,
		`{"name":"a\u0000b"}`,
		"{\"name\":\"\xff\"}",
		`{"name":"x","nonsense":1}`,
		`{"tags":["a","b"],"extra":{"k":"v"}}`,
		`{"name":"x"} {"name":"y"}`,
		`[]`, `null`, ``, `{"name":12}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := echo.New()
		e.Binder = textBinder{}
		e.JSONSerializer = strictJSON{}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		c := e.NewContext(req, httptest.NewRecorder())
		var v struct {
			Name  string            `json:"name"`
			Slug  string            `json:"slug"`
			Tags  []string          `json:"tags"`
			Extra map[string]string `json:"extra"`
		}
		if err := bindJSON(c, &v, "body must be JSON with name"); err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.TooLarge {
				t.Fatalf("refusal of kind %v, want a client error: %v", k, err)
			}
			return
		}
		check := func(field, s string) {
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("%s bound as %q: not valid text", field, s)
			}
		}
		check("name", v.Name)
		check("slug", v.Slug)
		for _, s := range v.Tags {
			check("tags", s)
		}
		for k, s := range v.Extra {
			check("extra key", k)
			check("extra", s)
		}
	})
}
