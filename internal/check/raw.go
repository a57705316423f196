package check

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// rawDo sends req on a connection of its own and reads the answer while
// the request is still being written. net/http cannot do either of the
// two things some cases need:
//
//   - 2/body-after-pause sends the headers at once and the body later;
//     net/http holds the headers in its buffer until the body is there,
//     so the Application would see them together;
//   - 1/over-1mib must hear an Application that answers 413 before it
//     reads the body and closes: net/http may report the write's failure
//     (a reset, a broken pipe) instead of the answer that came first.
//
// An answer read is returned whatever happened to the write; its body
// closes the connection. Without an answer, the read's error is returned
// (the write's, when the read saw only the connection end). The ESPF's
// own sender is net/http (espf.NewClient): this path is for those cases
// only, and does not go through a proxy.
func (r *runner) rawDo(ctx context.Context, req *http.Request) (*http.Response, error) {
	port := req.URL.Port()
	if port == "" {
		port = "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
	}
	host := net.JoinHostPort(req.URL.Hostname(), port)
	var conn net.Conn
	var err error
	if req.URL.Scheme == "https" {
		cfg := &tls.Config{}
		if r.cfg.TLS != nil {
			cfg = r.cfg.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = req.URL.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		conn, err = (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", host)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", host)
	}
	if err != nil {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: err}
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	wrote := make(chan error, 1)
	go func() { wrote <- req.Write(direct{conn}) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		stop()
		conn.Close()
		var werr error
		select {
		case werr = <-wrote:
		default: // still writing (or pausing): the read's error says it
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if werr != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)) {
			return nil, werr
		}
		return nil, err
	}
	resp.Body = &connBody{ReadCloser: resp.Body, close: func() {
		stop()
		conn.Close() // the writer, if still at it, fails and ends
	}}
	return resp, nil
}

// direct writes straight to the connection: http.Request.Write buffers
// what it writes only when its writer is not an io.ByteWriter, so the
// headers leave before the body is read.
type direct struct{ net.Conn }

func (d direct) WriteByte(c byte) error {
	_, err := d.Write([]byte{c})
	return err
}

// connBody closes the connection with the answer's body.
type connBody struct {
	io.ReadCloser
	once  sync.Once
	close func()
}

func (b *connBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.close)
	return err
}
