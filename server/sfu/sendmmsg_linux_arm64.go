package sfu

import "syscall"

const sysSendmmsg = syscall.SYS_SENDMMSG
