package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/reach-london/reach/internal/errs"
)

// playerDist is the player bundle `make web` builds (web/src/player and
// scorm-again, bundled by esbuild). Only a README is committed.
//
//go:embed playerdist
var playerDist embed.FS

// playerAsset is one built file of the player, with its hash for cache
// busting.
type playerAsset struct {
	body        []byte
	hash        string
	contentType string
}

func loadPlayerAssets(fsys fs.FS) map[string]playerAsset {
	out := map[string]playerAsset{}
	_ = fs.WalkDir(fsys, "playerdist", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[strings.TrimPrefix(p, "playerdist/")] = playerAsset{body: b, hash: hex.EncodeToString(sum[:8]), contentType: ct}
		return nil
	})
	return out
}

var playerPage = template.Must(template.New("player").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reach player</title>
<link rel="stylesheet" href="/player/assets/player.css?v={{.CSSHash}}">
</head>
<body>
<div class="player">
  <header class="player-bar">
    <h1 id="player-title">Loading…</h1>
    <a id="player-return" class="player-return" hidden>Back to my modules</a>
    <nav class="player-steps" aria-label="Lesson navigation">
      <button type="button" id="player-prev" disabled>Previous</button>
      <button type="button" id="player-next" disabled>Next</button>
    </nav>
  </header>
  <div class="player-body">
    <nav class="player-toc" id="player-toc" aria-label="Course contents" hidden></nav>
    <main class="player-main">
      <p id="player-status" role="status" aria-live="polite"></p>
      <iframe id="player-frame" title="Lesson content" allow="fullscreen"></iframe>
    </main>
  </div>
</div>
<script type="application/json" id="player-config">{{.Config}}</script>
<script src="/player/assets/player.js?v={{.JSHash}}"></script>
</body>
</html>
`))

// routesPlayer binds the player on the content origin. The page holds no
// secret: the launch token travels in the URL fragment, which the
// browser never sends, and the player reads everything else from the
// app origin's SCORM API with it.
func (h *scormHandler) routesPlayer(e *echo.Echo, s *Server) {
	bindPlayer(e, s.cfg.PublicURL, loadPlayerAssets(playerDist))
}

// bindPlayer binds the player page and its assets; without a built bundle
// both answer 503 saying how to build it.
func bindPlayer(e *echo.Echo, publicURL string, assets map[string]playerAsset) {
	apiBase := strings.TrimRight(publicURL, "/") + "/api/v1/scorm"
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; " +
		"connect-src 'self' " + originOf(publicURL) + "; frame-ancestors 'self' " + originOf(publicURL) +
		"; base-uri 'none'; form-action 'none'"
	e.GET("/player/:attempt", func(c echo.Context) error {
		js, okJS := assets["player.js"]
		css := assets["player.css"]
		if !okJS {
			return errs.E(errs.Unavailable, "player bundle not built; run make web")
		}
		cfg, _ := json.Marshal(map[string]string{"api": apiBase, "attempt": c.Param("attempt")})
		var buf bytes.Buffer
		if err := playerPage.Execute(&buf, map[string]any{"Config": template.JS(cfg), "JSHash": js.hash, "CSSHash": css.hash}); err != nil {
			return err
		}
		hdr := c.Response().Header()
		hdr.Set("Content-Security-Policy", csp)
		hdr.Set("Cache-Control", "no-store")
		return c.HTMLBlob(http.StatusOK, buf.Bytes())
	})
	e.GET("/player/assets/:name", func(c echo.Context) error {
		a, ok := assets[c.Param("name")]
		if !ok {
			if _, built := assets["player.js"]; !built {
				return errs.E(errs.Unavailable, "player bundle not built; run make web")
			}
			return errs.E(errs.NotFound, "no player asset %q", c.Param("name"))
		}
		if c.QueryParam("v") == a.hash {
			c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			c.Response().Header().Set("Cache-Control", "no-cache")
		}
		return c.Blob(http.StatusOK, a.contentType, a.body)
	})
}
