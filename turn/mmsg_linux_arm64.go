package turn

const sysRecvmmsg, sysSendmmsg = 243, 269
