package sfu

import "github.com/pion/webrtc/v3"

func capability(mime string, rate uint32, fmtp string) webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{MimeType: mime, ClockRate: rate, SDPFmtpLine: fmtp}
}
