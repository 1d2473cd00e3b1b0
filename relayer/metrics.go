package relayer

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the relayer's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	// Pending counts the packets the relayer knows and that are not settled, by source
	// and destination chain.
	Pending *prometheus.GaugeVec
	// Latency observes, per settled packet, the seconds from when the relayer first saw
	// it (its send event, or at start its pending commitment) to its settlement (the
	// ack or timeout event on its source chain).
	Latency *prometheus.HistogramVec
	// Settled counts packets settled on their source chain, by outcome.
	Settled *prometheus.CounterVec
	// Txs counts the relayer's transactions by chain and result: admitted, redundant
	// (every message relayed already: refused as already_exists) or refused by
	// CheckTx; and, of those admitted, failed (in their block) or dropped (never
	// executed: a later nonce executed first, or the nonce was used again).
	Txs *prometheus.CounterVec
	// Msgs counts the messages of admitted transactions by chain and type.
	Msgs *prometheus.CounterVec
	// Failures counts failures by chain and kind (an error code name, or rpc).
	Failures *prometheus.CounterVec
	// ClientHeight is the latest counterparty height of each client the relayer updates.
	ClientHeight *prometheus.GaugeVec
}

func newMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lian", Subsystem: "relayer", Name: "pending_packets",
			Help: "Packets sent and not yet settled (acknowledged or timed out), as the relayer knows them."}, []string{"src", "dst"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "lian", Subsystem: "relayer", Name: "relay_latency_seconds",
			Help:    "Seconds from the relayer seeing a packet to its settlement on the source chain.",
			Buckets: []float64{0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300}}, []string{"src", "dst", "outcome"}),
		Settled: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lian", Subsystem: "relayer", Name: "packets_settled_total",
			Help: "Packets settled on their source chain, by outcome (acknowledged, timed_out)."}, []string{"src", "dst", "outcome"}),
		Txs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lian", Subsystem: "relayer", Name: "txs_total",
			Help: "Relayer transactions by chain and result (admitted, redundant, refused; of those admitted: failed in their block, or dropped: never executed)."}, []string{"chain", "result"}),
		Msgs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lian", Subsystem: "relayer", Name: "messages_total",
			Help: "Messages in admitted relayer transactions, by chain and type."}, []string{"chain", "type"}),
		Failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "lian", Subsystem: "relayer", Name: "failures_total",
			Help: "Relaying failures by chain and kind (error code name, or rpc)."}, []string{"chain", "kind"}),
		ClientHeight: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "lian", Subsystem: "relayer", Name: "client_height",
			Help: "Latest counterparty height of each light client the relayer updates."}, []string{"chain", "client"}),
	}
	m.Registry.MustRegister(m.Pending, m.Latency, m.Settled, m.Txs, m.Msgs, m.Failures, m.ClientHeight,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
