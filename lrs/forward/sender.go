package forward

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Sender POSTs statements to a target's statements resource.
type Sender struct {
	client *http.Client
}

// NewSender returns a Sender using client, or when client is nil one with
// a 30-second timeout that refuses link-local addresses.
func NewSender(client *http.Client) *Sender {
	if client == nil {
		dialer := &net.Dialer{Timeout: 10 * time.Second, Control: refuseLinkLocal}
		transport := http.DefaultTransport.(*http.Transport).Clone()
		transport.DialContext = dialer.DialContext
		client = &http.Client{Timeout: 30 * time.Second, Transport: transport}
	}
	return &Sender{client: client}
}

// refuseLinkLocal stops a target (or a redirect, or a DNS answer) from
// reaching link-local addresses, where cloud metadata services live: an
// admin-supplied URL must not become a way to read them. No LRS lives
// there; loopback and private addresses stay allowed for LRSs inside the
// same network.
func refuseLinkLocal(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast()) {
		return errors.New("link-local addresses are not allowed as forwarding targets")
	}
	return nil
}

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
	if e := <-werr; e != nil && err != nil && code == 0 {
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
		// The URL error repeats the endpoint, which the status page shows
		// anyway; keep the cause.
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return 0, &DeliveryError{Msg: "target unreachable: " + msg}
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	switch res.StatusCode {
	case http.StatusOK, http.StatusNoContent, http.StatusConflict:
		return res.StatusCode, nil
	}
	return res.StatusCode, &DeliveryError{Status: res.StatusCode,
		Msg: fmt.Sprintf("target answered %d %s%s", res.StatusCode, http.StatusText(res.StatusCode), excerpt(raw))}
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
	if msg == "" {
		return ""
	}
	return ": " + msg
}
