//go:build unix && !linux

package testutil

import "syscall"

// deathSignal: only Linux has Pdeathsig; elsewhere the cleanup's kill is
// what ends the process.
func deathSignal(*syscall.SysProcAttr) {}
