package sfu

import "testing"

func TestKeyframeDetection(t *testing.T) {
	cases := []struct {
		name string
		mime string
		p    []byte
		want bool
	}{
		{"vp8 keyframe, no extension", "video/VP8", []byte{0x10, 0x00, 0x9d}, true},
		{"vp8 interframe", "video/VP8", []byte{0x10, 0x01, 0x9d}, false},
		{"vp8 continuation packet", "video/VP8", []byte{0x00, 0x00}, false},
		{"vp8 second partition", "video/VP8", []byte{0x11, 0x00}, false},
		{"vp8 keyframe, 15-bit picture id", "video/VP8", []byte{0x90, 0x80, 0x81, 0x23, 0x00}, true},
		{"vp8 keyframe, 7-bit picture id, tl0, tid", "video/VP8", []byte{0x90, 0xe0, 0x12, 0x05, 0x40, 0x00}, true},
		{"vp8 interframe, picture id", "video/VP8", []byte{0x90, 0x80, 0x12, 0x01}, false},
		{"vp8 truncated", "video/VP8", []byte{0x90, 0x80}, false},
		{"vp8 empty", "video/VP8", nil, false},
		{"h264 idr", "video/H264", []byte{0x65, 0x88}, true},
		{"h264 sps", "video/H264", []byte{0x67, 0x42}, true},
		{"h264 non-idr slice", "video/H264", []byte{0x41, 0x9a}, false},
		{"h264 stap-a with sps", "video/H264", []byte{0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"h264 stap-a without", "video/H264", []byte{0x18, 0x00, 0x02, 0x41, 0x42}, false},
		{"h264 fu-a start idr", "video/H264", []byte{0x7c, 0x85, 0x00}, true},
		{"h264 fu-a middle idr", "video/H264", []byte{0x7c, 0x05, 0x00}, false},
		{"opus is never a keyframe", "audio/opus", []byte{0x10, 0x00}, false},
	}
	for _, c := range cases {
		if got := isKeyframe(c.mime, c.p); got != c.want {
			t.Errorf("%s: isKeyframe = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzKeyframe feeds arbitrary payloads to the parsers that read every
// forwarded video packet: they must never panic or read out of bounds.
func FuzzKeyframe(f *testing.F) {
	for _, s := range [][]byte{{0x10, 0x00}, {0x90, 0x80, 0x81, 0x23, 0x00}, {0x18, 0x00, 0x02, 0x67, 0x42}, {0x7c, 0x85}, {0x18, 0xff, 0xff}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		isKeyframe("video/VP8", p)
		isKeyframe("video/H264", p)
	})
}

func TestSameCodec(t *testing.T) {
	vp8 := "video/VP8"
	if !sameCodec(capability(vp8, 90000, ""), capability("video/vp8", 90000, "x=1")) {
		t.Error("VP8 with other fmtp should match")
	}
	a := capability("video/H264", 90000, "packetization-mode=1;profile-level-id=42e01f")
	if !sameCodec(a, capability("video/H264", 90000, "profile-level-id=42E01F;packetization-mode=1;level-asymmetry-allowed=1")) {
		t.Error("same H.264 profile should match")
	}
	if sameCodec(a, capability("video/H264", 90000, "packetization-mode=0;profile-level-id=42e01f")) {
		t.Error("H.264 packetization modes differ")
	}
}
