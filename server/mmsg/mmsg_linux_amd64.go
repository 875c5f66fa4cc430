package mmsg

// The system call numbers; package syscall lacks sendmmsg on amd64 (its
// table is frozen), so both are spelled out.
const (
	SysRecvmmsg = 299
	SysSendmmsg = 307
)
