package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, on their own registry (no
// package globals, so tests can run many servers in one process).
type metrics struct {
	reg           *prometheus.Registry
	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	dbDuration    *prometheus.HistogramVec
	wsDropped     prometheus.Counter
	wsRejected    prometheus.Counter
	loginFailures prometheus.Counter
	rateLimited   *prometheus.CounterVec
	callFull      prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calls_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "calls_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		dbDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "calls_db_operation_duration_seconds", Help: "SQLite operation latency by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}, []string{"op"}),
		wsDropped:     prometheus.NewCounter(prometheus.CounterOpts{Name: "calls_websocket_dropped_total", Help: "Websocket clients dropped for not keeping up."}),
		wsRejected:    prometheus.NewCounter(prometheus.CounterOpts{Name: "calls_websocket_rejected_total", Help: "Websocket handshakes refused (e.g. foreign Origin)."}),
		loginFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "calls_login_failures_total", Help: "Failed logins."}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calls_rate_limited_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		callFull: prometheus.NewCounter(prometheus.CounterOpts{Name: "calls_call_full_total", Help: "Call joins (websocket or WHIP) refused because the call had max_call_participants."}),
	}
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.dbDuration, m.wsDropped, m.wsRejected, m.loginFailures, m.rateLimited, m.callFull,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "calls_websocket_clients", Help: "Connected websocket clients."},
			func() float64 { return float64(s.hub.Count()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "calls_active_calls", Help: "Calls running now."},
			func() float64 { n, _ := s.callCounts(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "calls_call_participants", Help: "Participants in calls now."},
			func() float64 { _, n := s.callCounts(); return float64(n) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_sfu_packets_received_total", Help: "RTP packets received from publishers."},
			func() float64 { r, _ := s.sfuTotals(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_sfu_packets_forwarded_total", Help: "RTP packets sent to subscribers."},
			func() float64 { _, f := s.sfuTotals(); return float64(f) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "calls_turn_allocations", Help: "TURN allocations now."},
			func() float64 { return float64(s.turnStats().Allocations) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_quota_refusals_total", Help: "TURN allocations refused: user or server at quota."},
			func() float64 { st := s.turnStats(); return float64(st.UserQuotaRefusals + st.TotalQuotaRefusals) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_peer_refusals_total", Help: "TURN permissions refused by the peer filter."},
			func() float64 { return float64(s.turnStats().PeerRefusals) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_auth_failures_total", Help: "TURN requests with bad or expired credentials."},
			func() float64 { return float64(s.turnStats().AuthFailures) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_relayed_bytes_total", Help: "Bytes relayed by TURN, both ways."},
			func() float64 { st := s.turnStats(); return float64(st.BytesToPeers + st.BytesToClients) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_bandwidth_drops_total", Help: "TURN datagrams dropped over the per-allocation bandwidth limit (--turn-bandwidth), both ways."},
			func() float64 { return float64(s.turnStats().BandwidthDrops) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "calls_turn_peer_packet_drops_total", Help: "TURN datagrams dropped to or from a peer the filter refuses."},
			func() float64 { return float64(s.turnStats().PeerPacketDrops) }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func (m *metrics) observeDB(op string, d time.Duration) {
	m.dbDuration.WithLabelValues(op).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// statusRecorder remembers the status a handler wrote, for the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (websockets).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// instrument counts each request under its route pattern (bounded labels).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Inc()
		m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}
