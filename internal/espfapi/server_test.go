package espfapi_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/espfctl/espfctl/internal/espfapi"
)

// TestClientLibraryOverHTTPS walks the mock as a public PortaBilling client
// library does: https:// fixed in its code, Session/login before any call,
// the JWT's exp decoded to know when to refresh, then "Authorization:
// Bearer" and {"params": …} bodies for a read and for a status report.
func TestClientLibraryOverHTTPS(t *testing.T) {
	t.Parallel()
	caFile := filepath.Join(t.TempDir(), "api-ca.pem")
	m := espfapi.New(espfapi.Config{Login: "espf-app", Password: "s3cret"})
	srv, err := espfapi.Listen(m, espfapi.ServerConfig{Listen: "127.0.0.1:0", SelfSigned: true, CAOut: caFile})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	if !strings.HasPrefix(srv.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s, want https on loopback", srv.URL)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("%s holds no certificate", caFile)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}

	// without the CA the connection is refused: this is real TLS
	if _, err := http.Post(srv.URL+"/rest/Session/ping", "application/json", strings.NewReader(`{}`)); err == nil ||
		!strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client that does not trust the CA got %v, want a certificate error", err)
	}
	a := api{t: t, base: srv.URL, client: client}
	code, ans := a.call("Session/login", map[string]any{"login": "espf-app", "password": "s3cret"}, "")
	if faultCode(t, code, ans) != "" {
		t.Fatalf("login: %v", ans)
	}
	tok := ans["access_token"].(string)
	exp, ok := claims(t, tok)["exp"].(float64)
	if !ok || time.Until(time.Unix(int64(exp), 0)) < 50*time.Minute {
		t.Fatalf("token exp %v: a client would refresh at once", exp)
	}

	m.Emitted(item(t, "Subscriber/Created", `"i_account":1000889`, 7615)) // the sender emits the event
	code, ans = a.call("Account/get_account_info", map[string]any{"i_account": 1000889}, tok)
	if faultCode(t, code, ans) != "" {
		t.Fatalf("read: %v", ans)
	}
	if info, _ := ans["account_info"].(map[string]any); info["i_account"] != 1000889.0 || info["bill_status"] != "O" {
		t.Fatalf("account_info %v", ans)
	}

	post := func(bearer string) int {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"status": "OK", "group": "HSS", "message": "provisioned"})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/espf/v1/account/i/1000889/status", strings.NewReader(string(b)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(tok); c != http.StatusOK {
		t.Fatalf("status with the access token: HTTP %d", c)
	}
	if c := post("not-a-token"); c != http.StatusUnauthorized {
		t.Errorf("status with a wrong token: HTTP %d, want 401", c)
	}
	accts, _ := m.Accounts()
	if len(accts) != 1 || accts[0].Account != "i_account=1000889" || accts[0].Status != "OK" {
		t.Errorf("statuses %+v", accts)
	}
	a.call("Session/logout", map[string]any{}, tok)
	if c := post(tok); c != http.StatusUnauthorized {
		t.Errorf("status after logout: HTTP %d, want 401", c)
	}
	calls := map[string]int64{}
	for _, c := range m.Calls() {
		calls[c.Method] = c.Calls
	}
	if calls["Session/login"] != 1 || calls["Account/get_account_info"] != 1 || calls[espfapi.StatusMethod] != 3 || calls["Session/logout"] != 1 {
		t.Errorf("calls per method %v", calls)
	}
}

// TestListenCertFiles: --api-tls-cert/--api-tls-key serve the user's own
// certificate.
func TestListenCertFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, caPEM, err := espfapi.SelfSigned(time.Now(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := espfapi.Listen(espfapi.New(espfapi.Config{}), espfapi.ServerConfig{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	code, ans := api{t: t, base: url, client: client}.call("Session/ping", map[string]any{}, "")
	if code != 200 || ans["user_id"] != 0.0 {
		t.Errorf("ping over the user's certificate: %d %v", code, ans)
	}

	for _, bad := range []espfapi.ServerConfig{
		{Listen: "127.0.0.1:0", SelfSigned: true, CertFile: certFile, KeyFile: keyFile},
		{Listen: "127.0.0.1:0", CertFile: certFile},
		{Listen: "127.0.0.1:0", CAOut: filepath.Join(dir, "ca.pem")},
		{Listen: "127.0.0.1:0", CertFile: filepath.Join(dir, "missing.pem"), KeyFile: keyFile},
	} {
		if s, err := espfapi.Listen(espfapi.New(espfapi.Config{}), bad); err == nil {
			s.Close(context.Background())
			t.Errorf("%+v: listened", bad)
		}
	}
}
