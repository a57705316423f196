package testutil

import "syscall"

// deathSignal has the kernel kill the child when the test binary dies.
func deathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
