//go:build !linux

package main

import "syscall"

// setDeathSignal does nothing outside Linux: children rely on stop, and
// hidden-mode ones on their stdin closing.
func setDeathSignal(*syscall.SysProcAttr) {}
