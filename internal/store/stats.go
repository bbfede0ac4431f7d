package store

import "github.com/VictoriaMetrics/VictoriaLogs/lib/logstorage"

// Stats describe the embedded store for monitoring.
type Stats struct {
	// Rows is the number of events stored (on disk and in memory).
	Rows uint64
	// SizeBytes is the compressed size of the stored events and their
	// stream index.
	SizeBytes uint64
	// PendingRows are events added but not yet in a searchable part;
	// InmemoryRows are searchable but not yet written to files.
	PendingRows, InmemoryRows uint64
	// Parts by kind: in memory, small and big files.
	InmemoryParts, SmallParts, BigParts uint64
	// ActiveMerges are merges of parts running now.
	ActiveMerges uint64
	// Partitions is the number of day partitions.
	Partitions uint64
}

// Stats reads the store's figures. It costs a walk over the parts of every
// partition: call it per scrape, not per event.
func (e *Embedded) Stats() Stats {
	var st logstorage.StorageStats
	e.s.UpdateStats(&st)
	d := st.DatadbStats
	return Stats{
		Rows:          d.RowsCount(),
		SizeBytes:     d.CompressedInmemorySize + d.CompressedSmallPartSize + d.CompressedBigPartSize + st.IndexdbSizeBytes,
		PendingRows:   d.PendingRows,
		InmemoryRows:  d.InmemoryRowsCount,
		InmemoryParts: d.InmemoryParts,
		SmallParts:    d.SmallParts,
		BigParts:      d.BigParts,
		ActiveMerges:  d.ActiveInmemoryMerges + d.ActiveSmallMerges + d.ActiveBigMerges,
		Partitions:    st.PartitionsCount,
	}
}
