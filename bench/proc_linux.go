package main

import "syscall"

// setDeathSignal makes the kernel kill the child if this tool dies without
// cleaning up (SIGKILL, a crash): no broker is left listening.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
