// Package starter writes a small, complete ESPF Application project in a
// language the user's team writes (espfctl init): it verifies the
// configured scheme as contract §3 says, answers exactly 200 only after the
// event, its i_event and the user's work are committed in one transaction,
// answers a repeat 200 without doing the work again, applies an entity's
// events only forward in i_event order, and shows the state espfctl's
// --state-url reads. The projects are embedded as files; only config.json
// and README.md are generated.
package starter

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/espfctl/espfctl/internal/sign"
)

//go:embed all:python all:php
var files embed.FS

// Lang is one starter.
type Lang struct {
	Name  string `json:"name"`
	Needs string `json:"needs"` // what must be installed to run it and its tests
	Dev   string `json:"dev"`   // the development server start uses
	Prod  string `json:"prod"`  // how to run it in production
	Test  string `json:"test"`  // the command that runs its own tests, in its directory
	Edit  string `json:"edit"`  // the file that holds provision, the one place the user edits
}

// Langs lists the starters.
func Langs() []Lang {
	out := []Lang{
		{Name: "python", Needs: "Python 3.8 or newer (its standard library and sqlite3 only)",
			Dev: "python3 app.py PORT (wsgiref, threaded)", Prod: "any WSGI server: gunicorn --workers 4 app:application",
			Test: "python3 -m unittest discover -s tests", Edit: "provision.py"},
	}
	if _, err := fs.Stat(files, "php/start"); err == nil {
		out = append(out, phpLang())
	}
	return out
}

// phpLang is the PHP starter, listed once its files are in (php/start).
func phpLang() Lang {
	return Lang{Name: "php", Needs: "PHP 8.1 or newer with PDO SQLite (php-cli, php-sqlite3); PHPUnit for its tests",
		Dev: "php -S 127.0.0.1:PORT router.php (PHP_CLI_SERVER_WORKERS=8)", Prod: "PHP-FPM or Apache with public/ as the document root",
		Test: "phpunit tests", Edit: "provision.php"}
}

// Lookup is the starter called name.
func Lookup(name string) (Lang, bool) {
	for _, l := range Langs() {
		if l.Name == name {
			return l, true
		}
	}
	return Lang{}, false
}

// ErrNotEmpty is returned when the directory holds something already.
var ErrNotEmpty = errors.New("the directory is not empty: init writes into a new or empty directory only, so nothing of yours is overwritten")

// Config is what a starter is configured with: the credentials the ESPF
// sends (cfg.Scheme and the rest of sign.Config).
type Config struct {
	Creds sign.Config
}

// config is config.json: the starter's settings, the secrets included
// (the file is written 0600 and ignored by git).
type config struct {
	Scheme      string   `json:"scheme"`
	Header      string   `json:"header"`
	Users       []string `json:"users,omitempty"`
	Passwords   []string `json:"passwords,omitempty"`
	Name        string   `json:"name,omitempty"`
	Credentials []string `json:"credentials,omitempty"`
	KeyIDs      []string `json:"key_ids,omitempty"`
	Keys        []string `json:"keys,omitempty"`
	IEnv        *int64   `json:"i_env,omitempty"`
	MaxSkew     int64    `json:"max_skew_seconds"`
}

// Write writes lang's project into dir (created when missing; refused when
// not empty) and returns the paths written, relative to dir.
func Write(lang, dir string, c Config) ([]string, error) {
	l, ok := Lookup(lang)
	if !ok {
		return nil, fmt.Errorf("no starter for %q: want one of %s", lang, strings.Join(names(), ", "))
	}
	if _, err := sign.New(c.Creds); err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s: %w", dir, ErrNotEmpty)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var wrote []string
	err := fs.WalkDir(files, lang, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "__pycache__", ".phpunit.cache", "data": // left by running a starter in the source tree
				return fs.SkipDir
			}
			return nil
		}
		if d.Name() == "config.json" || d.Name() == ".phpunit.result.cache" {
			return nil
		}
		rel := strings.TrimPrefix(path, lang+"/")
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if rel == "start" || rel == "restart" || strings.HasSuffix(rel, ".sh") {
			mode = 0o755
		}
		if strings.HasSuffix(rel, ".tmpl") {
			rel = strings.TrimSuffix(rel, ".tmpl")
			if b, err = render(b, l, c); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		wrote = append(wrote, rel)
		return writeFile(filepath.Join(dir, rel), b, mode)
	})
	if err != nil {
		return wrote, err
	}
	cr := c.Creds
	header := cr.HeaderName
	if header == "" {
		header = sign.DefaultHeader
	}
	cfg := config{Scheme: cr.Scheme, Header: header, Users: cr.Users, Passwords: cr.Passwords, Name: cr.Name,
		Credentials: cr.Credentials, KeyIDs: cr.KeyIDs, Keys: cr.Keys, IEnv: cr.IEnv, MaxSkew: int64(cr.MaxSkew.Seconds())}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return wrote, err
	}
	wrote = append(wrote, "config.json")
	return wrote, writeFile(filepath.Join(dir, "config.json"), append(b, '\n'), 0o600)
}

func writeFile(path string, b []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, mode)
}

func names() []string {
	var out []string
	for _, l := range Langs() {
		out = append(out, l.Name)
	}
	return out
}

// render fills in a template file: the language, and the espfctl flags
// that match the configured credentials (secrets as $ESPFCTL_* only).
func render(b []byte, l Lang, c Config) ([]byte, error) {
	t, err := template.New("").Parse(string(b))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	err = t.Execute(&out, struct {
		Lang        Lang
		Scheme      string
		Flags       string // espfctl's credential flags, secrets from the environment
		Env         string // the environment variable that holds the secret
		Credentials string // sign.Describe
	}{l, c.Creds.Scheme, Flags(c.Creds), sign.EnvOf(c.Creds.Scheme), sign.Describe(c.Creds)})
	return out.Bytes(), err
}

// Flags are espfctl's credential flags for c, the secret left to its
// environment variable: "--auth basic --user pb".
func Flags(c sign.Config) string {
	f := "--auth " + c.Scheme
	first := func(ss []string) string {
		if len(ss) == 0 {
			return ""
		}
		return ss[0]
	}
	switch c.Scheme {
	case sign.SchemeBasic:
		f += " --user " + shellWord(first(c.Users))
	case sign.SchemeCustom:
		f += " --scheme " + shellWord(c.Name)
	case sign.SchemeSignature:
		f += " --key-id " + shellWord(first(c.KeyIDs))
	case sign.SchemeBearer:
		if c.IEnv != nil {
			f += fmt.Sprintf(" --i-env %d", *c.IEnv)
		}
	}
	if c.HeaderName != "" && !strings.EqualFold(c.HeaderName, sign.DefaultHeader) {
		f += " --header-name " + shellWord(c.HeaderName)
	}
	return f
}

func shellWord(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
