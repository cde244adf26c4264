package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"time"
)

// Sender POSTs statements to a target's statements resource.
type Sender struct {
	client *http.Client
	guard  Guard
	log    *slog.Logger
}

// NewSender returns a Sender that connects only where g allows (see
// Guard), with a 30-second timeout, logging to log (slog.Default when
// nil) the details of failures that admins are not shown.
func NewSender(g Guard, log *slog.Logger) *Sender {
	if log == nil {
		log = slog.Default()
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: g.control}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.DialContext = dialer.DialContext
	// No proxy from the environment: a proxy would make the connections
	// to the target, and the guard could not check where they go.
	transport.Proxy = nil
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport,
		// Each redirect's connection passes the guard like the first.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("stopped after 3 redirects")
			}
			return nil
		}}
	return &Sender{client: client, guard: g, log: log}
}

// Unreachable is what admins are told of any failure to get an HTTP
// answer from a target: refused address, unknown name, closed port,
// timeout, TLS or protocol error alike, so that a target's status or test
// cannot be used to map which hosts and ports exist. The server log has
// the cause.
const Unreachable = "could not reach the target"

// DeliveryError is a target's refusal or an unreachable target, with a
// message fit for the status page.
type DeliveryError struct {
	Status int
	Msg    string
}

func (e *DeliveryError) Error() string { return e.Msg }

// Post sends body, a JSON array of statements, and returns the HTTP status.
// 200, 204 and 409 count as delivered: the statements carry their ids, so
// 409 means the target already holds them (xAPI makes a resend of a stored
// id a conflict on some LRSs, a no-op on others).
func (s *Sender) Post(ctx context.Context, t Target, body []byte) (int, error) {
	return s.post(ctx, t, bytes.NewReader(body), "application/json")
}

// PostWithAttachments sends statements with the bytes of their
// attachments as a multipart/mixed request, streamed from src.
func (s *Sender) PostWithAttachments(ctx context.Context, t Target, statements []byte, src AttachmentSource, parts []part) (int, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	werr := make(chan error, 1)
	go func() {
		err := writeMultipart(ctx, mw, src, t.BoroughID, statements, parts)
		werr <- err
		pw.CloseWithError(err)
	}()
	code, err := s.post(ctx, t, pr, "multipart/mixed; boundary="+mw.Boundary())
	pr.Close() // ends the writer if the target stopped reading
	// The writer fails with ErrClosedPipe when the request never went
	// out (the target is unreachable): that is not an attachment problem.
	if e := <-werr; e != nil && !errors.Is(e, io.ErrClosedPipe) && err != nil && code == 0 {
		return 0, &DeliveryError{Msg: "read attachment: " + e.Error()}
	}
	return code, err
}

func (s *Sender) post(ctx context.Context, t Target, body io.Reader, contentType string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint+"statements", body)
	if err != nil {
		return 0, &DeliveryError{Msg: "build request: " + err.Error()}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Experience-API-Version", t.Version)
	switch t.AuthType {
	case AuthBasic:
		req.SetBasicAuth(t.AuthKey, t.Secret)
	case AuthBearer:
		req.Header.Set("Authorization", "Bearer "+t.Secret)
	}
	res, err := s.client.Do(req)
	if err != nil {
		s.log.Warn("forwarding: target unreachable", "borough", t.BoroughID, "target", t.ID, "err", err)
		return 0, &DeliveryError{Msg: Unreachable}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	switch res.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusConflict:
		return res.StatusCode, nil
	}
	// The target's answer is not shown to admins (it could be any
	// service's page); the operator's log has an excerpt.
	s.log.Info("forwarding: target refused", "borough", t.BoroughID, "target", t.ID, "status", res.StatusCode, "answer", excerpt(raw))
	return res.StatusCode, &DeliveryError{Status: res.StatusCode,
		Msg: fmt.Sprintf("target answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))}
}

// excerpt is a short, single-line piece of a target's error answer.
func excerpt(raw []byte) string {
	var eb struct {
		Error   any    `json:"error"`
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(raw, &eb) == nil {
		switch e := eb.Error.(type) {
		case map[string]any:
			if m, ok := e["message"].(string); ok {
				msg = m
			}
		case string:
			msg = e
		}
		if msg == "" {
			msg = eb.Message
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}
