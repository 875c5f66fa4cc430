package turn

const sysRecvmmsg, sysSendmmsg = 299, 307
