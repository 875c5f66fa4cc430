package mmsg

// The system call numbers.
const (
	SysRecvmmsg = 243
	SysSendmmsg = 269
)
