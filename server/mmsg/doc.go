// Package mmsg holds what the SFU and the TURN relay share to move many UDP
// datagrams per system call with sendmmsg(2) and recvmmsg(2) on Linux
// (amd64 and arm64): the mmsghdr layout, the system call numbers and the
// socket address encoding. Elsewhere the package is empty and its users
// send one datagram per call.
package mmsg
