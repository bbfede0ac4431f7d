package privacy

import (
	"bytes"
	"context"
	"runtime"
	"slices"
	"sync"

	"github.com/vigil-siem/vigil/internal/detect/enrich"
	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/ingest"
)

// Publisher stores encoded batches (the bus).
type Publisher = ingest.Publisher

var _ ingest.Annotator = (*Annotator)(nil)

// Annotator gives access events their healthcare context and explanation
// before they are stored, so that the stored event, the search, the
// reports and the detector all see the same healthcare.access.explained
// and explanation. As a Publisher it wraps the bus: every source publishes
// through it.
type Annotator struct {
	Enricher *enrich.Enricher
	Engine   *Engine
	Next     Publisher
}

var patientField = []byte("healthcare.patient.id")

// annotationFields is about how many fields the enrichment and the
// explanation add to an access event.
const annotationFields = 24

// headroom is the share of the bus's batch limit sources may fill, leaving
// room for the fields the annotation adds.
const headroom = 0.7

// MaxBatchBytes leaves room in the bus's batches for the annotation.
func (a *Annotator) MaxBatchBytes() int { return int(float64(a.Next.MaxBatchBytes()) * headroom) }

// Publish annotates the access events of a batch and publishes it. A
// batch without patient records passes untouched (no decoding); one whose
// annotation outgrew the bus's limit is published in parts.
func (a *Annotator) Publish(ctx context.Context, source string, batch []byte) (uint64, error) {
	if !bytes.Contains(batch, patientField) {
		return a.Next.Publish(ctx, source, batch)
	}
	evs, err := event.DecodeBatch(nil, batch)
	if err != nil || !a.Annotate(ctx, evs) {
		// The consumers report an undecodable batch as before.
		return a.Next.Publish(ctx, source, batch)
	}
	return a.publish(ctx, source, evs)
}

// AnnotateEvents annotates decoded events in place (ingest.Annotator):
// sources that hold their events decoded call it and publish the encoding
// to Inner, saving the decoding and re-encoding of Publish.
func (a *Annotator) AnnotateEvents(ctx context.Context, evs []event.Event) {
	a.Annotate(ctx, evs)
}

// Inner is the publisher the annotated batches go to (ingest.Annotator).
func (a *Annotator) Inner() Publisher { return a.Next }

func (a *Annotator) publish(ctx context.Context, source string, evs []event.Event) (uint64, error) {
	out := event.AppendBatch(nil, evs)
	if len(out) <= a.Next.MaxBatchBytes() || len(evs) == 1 {
		return a.Next.Publish(ctx, source, out)
	}
	half := len(evs) / 2
	if _, err := a.publish(ctx, source, evs[:half]); err != nil {
		return 0, err
	}
	return a.publish(ctx, source, evs[half:])
}

// Annotate enriches and explains the access events among evs (learning
// from them first) and drops the cached record of patients an HL7 message
// names. It reports whether it changed anything.
func (a *Annotator) Annotate(ctx context.Context, evs []event.Event) bool {
	var cands []int
	for i := range evs {
		ev := &evs[i]
		if !ev.Has("healthcare.patient.id") {
			continue
		}
		if ev.Value("event.module") == "hl7" {
			// The MLLP listener applied the message to the directory before
			// publishing it: what is cached of the patient is stale (an
			// order or result: its links).
			a.Enricher.Applied(ctx, ev)
			continue
		}
		cands = append(cands, i)
		// Room for what the enrichment and the explanation add, at once:
		// a decoded event's fields fill their slice, and growing it a
		// field at a time copied it twice.
		ev.Fields = slices.Grow(ev.Fields, annotationFields)
	}
	if len(cands) == 0 {
		return false
	}
	// Enrichment (directory lookups, relationships) is the costly part:
	// in parallel over the machine's cores for large batches.
	accs := make([]enrich.Access, len(cands))
	ok := make([]bool, len(cands))
	enrichRange := func(from, to int) {
		for j := from; j < to; j++ {
			ok[j] = a.Enricher.EnrichAccess(ctx, &evs[cands[j]], &accs[j])
		}
	}
	if workers := min(runtime.GOMAXPROCS(0), len(cands)/256); workers > 1 {
		var wg sync.WaitGroup
		per := (len(cands) + workers - 1) / workers
		for w := 0; w < workers; w++ {
			from, to := w*per, min((w+1)*per, len(cands))
			wg.Add(1)
			go func() { defer wg.Done(); enrichRange(from, to) }()
		}
		wg.Wait()
	} else {
		enrichRange(0, len(cands))
	}
	var idx []int
	n := 0
	for j, i := range cands {
		if ok[j] {
			idx = append(idx, i)
			accs[n] = accs[j]
			n++
		}
	}
	accs = accs[:n]
	if len(accs) == 0 {
		return true // enriched (logons of staff), nothing to explain
	}
	xs := a.Engine.ExplainBatch(ctx, accs)
	for j, i := range idx {
		xs[j].Annotate(&evs[i])
	}
	return true
}

// Detect is the detector's enrichment: an access event annotated on its
// way in is left as it is; one that was not (published before the
// annotation existed) is enriched and explained now, without learning from
// it; other events get the enricher's context.
func (a *Annotator) Detect(ctx context.Context, ev *event.Event) {
	if ev.Has(FieldExplained) && enrich.IsAccess(ev) {
		return
	}
	var acc enrich.Access
	if a.Enricher.EnrichAccess(ctx, ev, &acc) {
		a.Engine.Explain(&acc).Annotate(ev)
	}
}
