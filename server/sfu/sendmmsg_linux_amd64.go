package sfu

// sysSendmmsg is missing from package syscall on amd64 (its table is
// frozen), so it is spelled out here.
const sysSendmmsg = 307
