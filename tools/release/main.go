// Command release builds espfctl's release artifacts into dist/; .ci/release
// runs it. See internal/release.
//
//	go run ./tools/release [-dist dist] [-targets linux/amd64,…] [-no-image] VERSION
//
// Exit codes: 0 written, 2 usage or a bad version, 3 a build or write failed.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/espfctl/espfctl/internal/release"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	dist := fs.String("dist", "dist", "output directory")
	targets := fs.String("targets", "", "comma-separated OS/ARCH list (default: all six)")
	noImage := fs.Bool("no-image", false, "do not build the container image")
	caCerts := fs.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of trusted roots to put in the image (\"\": none)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: .ci/release [flags] VERSION   (e.g. v1.2.3)\n\n"+
			"Writes dist/espfctl_VERSION_OS_ARCH.tar.gz (.zip for windows), dist/espfctl_VERSION_image.tar\n"+
			"and dist/checksums.txt. Archive times and the image's creation time come from\n"+
			"SOURCE_DATE_EPOCH (.ci/release sets it to the commit time).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	version := fs.Arg(0)
	if err := release.CheckVersion(version); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		return 2
	}
	var ts []release.Target
	if *targets != "" {
		var err error
		if ts, err = release.ParseTargets(*targets); err != nil {
			fmt.Fprintln(os.Stderr, "release: -targets:", err)
			return 2
		}
	}
	when := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "release: SOURCE_DATE_EPOCH=%q: want seconds since 1970\n", s)
			return 2
		}
		when = time.Unix(sec, 0)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	commit := gitOutput("rev-parse", "HEAD")
	if commit == "" {
		fmt.Fprintln(os.Stderr, "release: warning: not a git checkout: espfctl version will name no commit")
	} else if gitOutput("status", "--porcelain", "--untracked-files=no") != "" {
		fmt.Fprintf(os.Stderr, "release: warning: the working tree has changes: the binaries are built from them, not from %s alone\n", commit[:12])
	}
	fmt.Fprintf(os.Stderr, "release %s of %s, files dated %s\n", version, orNone(commit), when.UTC().Format(time.RFC3339))
	start := time.Now()
	arts, err := release.Run(ctx, release.Options{
		Version: version, Root: ".", Dist: *dist, Targets: ts,
		Image: !*noImage, CACerts: *caCerts, Time: when, Commit: commit, Log: os.Stderr,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		return 3
	}
	fmt.Fprintf(os.Stderr, "release %s: %d artifacts in %s\n", version, len(arts), time.Since(start).Round(time.Second))
	return 0
}

// gitOutput is git's trimmed output, "" when git fails.
func gitOutput(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func orNone(s string) string {
	if s == "" {
		return "no known commit"
	}
	return "commit " + s
}
