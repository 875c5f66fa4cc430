package loadtest

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a run. Rates, loss, latency and CPU cover the
// measurement window only: everyone joined, media flowing, for
// Config.Duration.
type Report struct {
	URL                 string  `json:"url"`
	Run                 string  `json:"run"`
	Calls               int     `json:"calls"`
	ParticipantsPerCall int     `json:"participants_per_call"`
	Speakers            int     `json:"speakers_per_call"`
	VideoPublishers     int     `json:"video_publishers_per_call"`
	ScreenSharers       int     `json:"screen_sharers_per_call"`
	ChatClients         int     `json:"chat_clients"`
	PostsPerSecond      float64 `json:"posts_per_second"`
	Ramp                float64 `json:"ramp_joins_per_second"`

	SetupSeconds  float64 `json:"setup_s"`
	JoinSeconds   float64 `json:"join_s"`
	WindowSeconds float64 `json:"window_s"`

	Participants struct {
		Wanted    int      `json:"wanted"`
		Connected int      `json:"connected"`
		Failed    int      `json:"failed"`
		Errors    []string `json:"errors,omitempty"`
		// From sending call_join to the call_joined answer, and to the
		// media connection being up (ICE and DTLS done).
		JoinAnswer  Percentiles `json:"join_answer"`
		JoinConnect Percentiles `json:"join_connect"`
	} `json:"participants"`

	Media struct {
		// Whole run, from the first packet to the last.
		PacketsSent     uint64 `json:"packets_sent"`
		PacketsReceived uint64 `json:"packets_received"`
		// The measurement window.
		WindowSent     uint64      `json:"window_packets_sent"`
		WindowReceived uint64      `json:"window_packets_received"`
		WindowLost     uint64      `json:"window_packets_lost"`
		LossPercent    float64     `json:"loss_percent"`
		SentPPS        float64     `json:"sent_pps"`
		ForwardedPPS   float64     `json:"forwarded_pps"`
		Latency        Percentiles `json:"latency"`
		JitterMS       float64     `json:"jitter_ms"`
	} `json:"media"`

	Server ServerUsage `json:"server"`

	LoadGenerator struct {
		Cores    float64 `json:"cpu_cores"`
		RSSBytes int64   `json:"rss_bytes"`
	} `json:"load_generator"`

	Chat *ChatReport `json:"chat,omitempty"`

	Cleanup string   `json:"cleanup,omitempty"` // "ok", or what failed
	Notes   []string `json:"notes,omitempty"`
}

// ServerUsage is the server's CPU and memory during the window.
type ServerUsage struct {
	Source     string  `json:"source"` // /proc/<pid> or the /metrics URL
	CPUSeconds float64 `json:"cpu_s"`  // user + system
	Cores      float64 `json:"cpu_cores"`
	// CPU per forwarded packet: server CPU / packets the load peers got.
	CPUPerPacketUS float64 `json:"cpu_per_forwarded_packet_us"`
	// Forwarded packets per second of server CPU: pps per core.
	PacketsPerCoreSecond float64 `json:"forwarded_pps_per_core"`
	RSSBytes             int64   `json:"rss_bytes"`
	PeakRSSBytes         int64   `json:"peak_rss_bytes,omitempty"`
}

func (s *ServerUsage) fill(before, after usage, forwarded uint64) {
	s.CPUSeconds = (after.cpu - before.cpu).Seconds()
	if d := after.at.Sub(before.at).Seconds(); d > 0 {
		s.Cores = s.CPUSeconds / d
	}
	if forwarded > 0 && s.CPUSeconds > 0 {
		s.CPUPerPacketUS = s.CPUSeconds * 1e6 / float64(forwarded)
		s.PacketsPerCoreSecond = float64(forwarded) / s.CPUSeconds
	}
	s.RSSBytes, s.PeakRSSBytes = after.rss, after.peakRSS
}

// ChatReport is the chat side: posts made during the window and their
// delivery to every chat client's websocket.
type ChatReport struct {
	PostsSent   uint64 `json:"posts_sent"`
	PostsFailed uint64 `json:"posts_failed"`
	FirstError  string `json:"first_error,omitempty"`
	// Deliveries is post_created events received for those posts, of
	// Expected (every post reaches every chat client, its author too).
	Deliveries uint64      `json:"deliveries"`
	Expected   uint64      `json:"expected_deliveries"`
	Delivery   Percentiles `json:"delivery_latency"`
	PostAck    Percentiles `json:"post_request_latency"`
}

// fill computes the report's counts from two snapshots of the counters.
func (r *runner) fill(rep *Report, c0, c1 counters) {
	rep.Participants.Wanted = len(r.parts)
	rep.Participants.Connected = int(r.connected.Load())
	rep.Participants.Failed = int(r.failed.Load())
	var ja, jc [histBuckets]uint64
	r.joinAnswer.merge(&ja)
	r.joinConnect.merge(&jc)
	rep.Participants.JoinAnswer, rep.Participants.JoinConnect = percentiles(&ja), percentiles(&jc)
	rep.WindowSeconds = c1.at.Sub(c0.at).Seconds()
	m := &rep.Media
	m.PacketsSent, m.PacketsReceived = c1.sent, c1.received
	m.WindowSent = c1.windowSent
	m.WindowReceived = c1.windowReceived
	if c1.windowExpected > c1.windowReceived {
		m.WindowLost = c1.windowExpected - c1.windowReceived
	}
	m.LossPercent = lossPercent(c1.windowExpected, c1.windowReceived)
	if rep.WindowSeconds > 0 {
		m.SentPPS = float64(m.WindowSent) / rep.WindowSeconds
		m.ForwardedPPS = float64(m.WindowReceived) / rep.WindowSeconds
	}
	var h [histBuckets]uint64
	for _, p := range r.parts {
		p.latency.merge(&h)
	}
	m.Latency = percentiles(&h)
	if c1.jitterTracks > 0 {
		m.JitterMS = float64(c1.jitterSumNs) / float64(c1.jitterTracks) / 1e6
	}
	if r.chat != nil {
		c := &ChatReport{PostsSent: r.chat.posted.Load(), PostsFailed: r.chat.failed.Load(), Deliveries: r.chat.delivered.Load()}
		c.Expected = c.PostsSent * uint64(len(r.chat.clients))
		var d, a [histBuckets]uint64
		r.chat.delivery.merge(&d)
		r.chat.ack.merge(&a)
		c.Delivery, c.PostAck = percentiles(&d), percentiles(&a)
		if r.chat.firstErr != nil {
			c.FirstError = r.chat.firstErr.Error()
		}
		rep.Chat = c
	}
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	line("run", "%s against %s", rep.Run, rep.URL)
	line("load", "%d calls × %d participants (%d speaking, %d video, %d screen each), %d chat clients at %g posts/s",
		rep.Calls, rep.ParticipantsPerCall, rep.Speakers, rep.VideoPublishers, rep.ScreenSharers, rep.ChatClients, rep.PostsPerSecond)
	line("times", "setup %.1f s, joins %.1f s (at %g/s), measured %.1f s", rep.SetupSeconds, rep.JoinSeconds, rep.Ramp, rep.WindowSeconds)
	p := rep.Participants
	line("participants", "%d connected, %d failed of %d", p.Connected, p.Failed, p.Wanted)
	for _, e := range p.Errors {
		line("", "%s", e)
	}
	line("joining", "call_joined after p50 %s p95 %s max %s; media up after p50 %s p95 %s max %s",
		ms(p.JoinAnswer.P50), ms(p.JoinAnswer.P95), ms(p.JoinAnswer.Max), ms(p.JoinConnect.P50), ms(p.JoinConnect.P95), ms(p.JoinConnect.Max))
	m := rep.Media
	line("packets", "%d sent, %d received (whole run)", m.PacketsSent, m.PacketsReceived)
	line("window", "%.0f pkt/s sent, %.0f pkt/s forwarded to load peers", m.SentPPS, m.ForwardedPPS)
	line("loss", "%.3f %% (%d of %d expected)", m.LossPercent, m.WindowLost, m.WindowReceived+m.WindowLost)
	line("latency", "p50 %s  p95 %s  p99 %s  max %s  (send → receive, %d samples)", ms(m.Latency.P50), ms(m.Latency.P95),
		ms(m.Latency.P99), ms(m.Latency.Max), m.Latency.Samples)
	line("jitter", "%s (mean of tracks, RFC 3550)", ms(m.JitterMS))
	s := rep.Server
	if s.Source != "" && s.CPUSeconds > 0 {
		line("server CPU", "%.2f cores (%.2f s over the window, from %s)", s.Cores, s.CPUSeconds, s.Source)
		if s.CPUPerPacketUS > 0 {
			line("per packet", "%.2f µs of server CPU per forwarded packet = %.0f forwarded pkt/s per core", s.CPUPerPacketUS, s.PacketsPerCoreSecond)
		}
		mem := mib(s.RSSBytes)
		if s.PeakRSSBytes > 0 {
			mem += ", peak " + mib(s.PeakRSSBytes)
		}
		line("server memory", "%s", mem)
	}
	line("load generator", "%.2f cores, %s", rep.LoadGenerator.Cores, mib(rep.LoadGenerator.RSSBytes))
	if c := rep.Chat; c != nil {
		line("chat posts", "%d sent, %d failed; %d of %d deliveries", c.PostsSent, c.PostsFailed, c.Deliveries, c.Expected)
		if c.FirstError != "" {
			line("", "first error: %s", c.FirstError)
		}
		line("chat delivery", "p50 %s  p95 %s  p99 %s  max %s  (post request → post_created)", ms(c.Delivery.P50),
			ms(c.Delivery.P95), ms(c.Delivery.P99), ms(c.Delivery.Max))
		line("post request", "p50 %s  p95 %s  p99 %s", ms(c.PostAck.P50), ms(c.PostAck.P95), ms(c.PostAck.P99))
	}
	if rep.Cleanup != "" {
		line("cleanup", "%s", rep.Cleanup)
	}
	for _, n := range rep.Notes {
		line("note", "%s", n)
	}
	tw.Flush()
}

func ms(v float64) string {
	d := time.Duration(v * float64(time.Millisecond))
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0f µs", v*1000)
	case d < 10*time.Second:
		return strings.TrimSuffix(fmt.Sprintf("%.2f", v), "0") + " ms"
	}
	return d.Round(time.Millisecond).String()
}
