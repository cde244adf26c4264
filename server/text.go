package server

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
)

// Text that is not valid UTF-8, or holds the NUL character, cannot be
// stored as text on every backend: PostgreSQL refuses both (SQLSTATE
// 22021, which surfaced as 500s) and SQLite stored U+FFFD in place of what
// was sent. It is refused at the parsing boundary, once for every route:
// path and query parameters and small URL-encoded forms by validText,
// JSON bodies bound with c.Bind by textBinder, statements and documents
// by the LRS's own parsers.

// checkText answers 400 naming field when s is not valid UTF-8 or holds
// the NUL character.
func checkText(field, s string) error {
	if !utf8.ValidString(s) {
		return errs.E(errs.Invalid, "%s is not valid UTF-8", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return errs.E(errs.Invalid, "%s must not contain the NUL character", field)
	}
	return nil
}

// maxCheckedForm is the largest URL-encoded form validText reads: the
// portal's and admin pages' forms are far smaller, and larger bodies are
// left to the routes' own limits.
const maxCheckedForm = 64 << 10

// validText checks, after routing, the request's path parameters, query
// parameters and (for a small URL-encoded body) form fields.
func validText(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if i < len(c.ParamValues()) {
				if err := checkText("path parameter "+name, c.ParamValues()[i]); err != nil {
					return err
				}
			}
		}
		// Not c.QueryParams: Echo caches that, and the xAPI alternate
		// request syntax rewrites the query after this has run.
		if err := checkValues("query parameter", c.Request().URL.Query()); err != nil {
			return err
		}
		r := c.Request()
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct == "application/x-www-form-urlencoded" && r.ContentLength >= 0 && r.ContentLength <= maxCheckedForm &&
			(r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch) {
			if err := r.ParseForm(); err != nil {
				return errs.E(errs.Invalid, "the form is not valid URL encoding")
			}
			if err := checkValues("form field", r.PostForm); err != nil {
				return err
			}
		}
		return next(c)
	}
}

func checkValues(what string, v map[string][]string) error {
	for k, vals := range v {
		if err := checkText(what+" name", k); err != nil {
			return err
		}
		for _, s := range vals {
			if err := checkText(what+" "+k, s); err != nil {
				return err
			}
		}
	}
	return nil
}

// textBinder is Echo's default binder with the checks above: a JSON body
// must be valid UTF-8 (the decoder would silently replace bytes), and no
// string field bound from it may hold the NUL character.
type textBinder struct{ echo.DefaultBinder }

func (b textBinder) Bind(i any, c echo.Context) error {
	r := c.Request()
	if r.ContentLength != 0 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		if !utf8.Valid(body) {
			return &textError{errs.E(errs.Invalid, "the request body is not valid UTF-8")}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if err := b.DefaultBinder.Bind(i, c); err != nil {
		return err
	}
	if err := nulFree(reflect.ValueOf(i), ""); err != nil {
		return &textError{err}
	}
	return nil
}

// nulFree walks a bound value for strings holding NUL, naming the field
// by its JSON name.
func nulFree(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return nulFree(v.Elem(), path)
		}
	case reflect.String:
		if strings.IndexByte(v.String(), 0) >= 0 {
			return errs.E(errs.Invalid, "%s must not contain the NUL character", strings.TrimPrefix(path, "."))
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" {
				name = f.Name
			}
			if err := nulFree(v.Field(i), path+"."+name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil // bytes, not text
		}
		for i := 0; i < v.Len(); i++ {
			if err := nulFree(v.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if k := it.Key(); k.Kind() == reflect.String && strings.IndexByte(k.String(), 0) >= 0 {
				return errs.E(errs.Invalid, "%s must not have a key holding the NUL character", strings.TrimPrefix(path, "."))
			}
			if err := nulFree(it.Value(), path+"."+it.Key().String()); err != nil {
				return err
			}
		}
	}
	return nil
}

// textError is textBinder's refusal, which names the field.
type textError struct{ err error }

func (e *textError) Error() string { return e.err.Error() }
func (e *textError) Unwrap() error { return e.err }
