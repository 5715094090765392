package storagetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// record is a record to create: kind, id and owner, with a document
// naming them and CreatedAt t0.
func record(kind, id, owner string) storage.Record {
	return storage.Record{Kind: kind, ID: id, Owner: owner, Doc: []byte(`{"id":"` + id + `"}`), CreatedAt: t0}
}

// createRecord creates r and returns it as stored.
func createRecord(t *testing.T, s storage.Store, r storage.Record) storage.Record {
	t.Helper()
	got, err := s.CreateRecord(t.Context(), r)
	if err != nil {
		t.Fatalf("CreateRecord(%s %s): %v", r.Kind, r.ID, err)
	}
	return got
}

func testRecords(t *testing.T, s storage.Store) {
	want := record(storage.KindTenant, "acme", "")
	created := createRecord(t, s, want)
	if created.Seq <= 0 {
		t.Fatalf("CreateRecord: Seq = %d, want above 0", created.Seq)
	}
	want.Seq, want.UpdatedAt = created.Seq, want.CreatedAt
	mustEqual(t, "CreateRecord", created, want)
	got, err := s.GetRecord(t.Context(), storage.KindTenant, "acme")
	wantErr(t, "GetRecord", err, nil)
	mustEqual(t, "GetRecord", got, want)

	_, err = s.CreateRecord(t.Context(), record(storage.KindTenant, "acme", ""))
	wantErr(t, "CreateRecord(live id)", err, storage.ErrAlreadyExists)
	// The id is unique per kind: a connection may share it.
	createRecord(t, s, record(storage.KindConnection, "acme", ""))
	_, err = s.GetRecord(t.Context(), storage.KindDomain, "acme")
	wantErr(t, "GetRecord(other kind)", err, storage.ErrNotFound)

	// An update carries the Seq it was based on.
	upd := want
	upd.Doc = []byte(`{"id":"acme","name":"Acme"}`)
	upd.Owner = "someone"
	upd.UpdatedAt = t0.Add(time.Minute)
	_, err = s.UpdateRecord(t.Context(), upd, want.Seq-1)
	wantErr(t, "UpdateRecord(stale seq)", err, storage.ErrConflict)
	updated, err := s.UpdateRecord(t.Context(), upd, want.Seq)
	wantErr(t, "UpdateRecord", err, nil)
	if updated.Seq <= want.Seq {
		t.Fatalf("UpdateRecord: Seq %d, want above %d", updated.Seq, want.Seq)
	}
	upd.Seq = updated.Seq
	mustEqual(t, "UpdateRecord", updated, upd)
	got, err = s.GetRecord(t.Context(), storage.KindTenant, "acme")
	wantErr(t, "GetRecord after UpdateRecord", err, nil)
	mustEqual(t, "GetRecord after UpdateRecord", got, upd)
	// The Seq it was created with is stale now: a second writer working
	// from the first read loses.
	_, err = s.UpdateRecord(t.Context(), upd, want.Seq)
	wantErr(t, "UpdateRecord(seq of the first read)", err, storage.ErrConflict)
	got, _ = s.GetRecord(t.Context(), storage.KindTenant, "acme")
	mustEqual(t, "GetRecord after a refused update", got, upd)
	_, err = s.UpdateRecord(t.Context(), record(storage.KindTenant, "nobody", ""), 1)
	wantErr(t, "UpdateRecord(unknown)", err, storage.ErrNotFound)

	// A deletion leaves a tombstone in the feed only.
	before := upd.Seq
	at := t0.Add(2 * time.Minute)
	wantErr(t, "DeleteRecord", s.DeleteRecord(t.Context(), storage.KindTenant, "acme", at), nil)
	_, err = s.GetRecord(t.Context(), storage.KindTenant, "acme")
	wantErr(t, "GetRecord(deleted)", err, storage.ErrNotFound)
	list, err := s.ListRecords(t.Context(), storage.KindTenant, "", "", 0)
	wantErr(t, "ListRecords", err, nil)
	mustEqual(t, "ListRecords after DeleteRecord", list, nil)
	changes, err := s.RecordChanges(t.Context(), before)
	wantErr(t, "RecordChanges", err, nil)
	if len(changes) != 1 || changes[0].Seq <= before {
		t.Fatalf("RecordChanges(%d) after DeleteRecord = %+v, want one tombstone above %d", before, changes, before)
	}
	mustEqual(t, "the tombstone", changes[0], storage.Record{Kind: storage.KindTenant, ID: "acme", Owner: "someone",
		Seq: changes[0].Seq, CreatedAt: t0, UpdatedAt: at, Deleted: true})
	wantErr(t, "DeleteRecord(again)", s.DeleteRecord(t.Context(), storage.KindTenant, "acme", at), storage.ErrNotFound)
	wantErr(t, "DeleteRecord(unknown)", s.DeleteRecord(t.Context(), storage.KindTenant, "nobody", at), storage.ErrNotFound)
	_, err = s.UpdateRecord(t.Context(), upd, changes[0].Seq)
	wantErr(t, "UpdateRecord(tombstone)", err, storage.ErrNotFound)

	// Creating it again replaces the tombstone, with a new Seq.
	again := record(storage.KindTenant, "acme", "")
	again.CreatedAt = t0.Add(3 * time.Minute)
	recreated := createRecord(t, s, again)
	if recreated.Seq <= changes[0].Seq {
		t.Fatalf("CreateRecord over a tombstone: Seq %d, want above %d", recreated.Seq, changes[0].Seq)
	}
	again.Seq, again.UpdatedAt = recreated.Seq, again.CreatedAt
	mustEqual(t, "CreateRecord over a tombstone", recreated, again)
	got, err = s.GetRecord(t.Context(), storage.KindTenant, "acme")
	wantErr(t, "GetRecord(recreated)", err, nil)
	mustEqual(t, "GetRecord(recreated)", got, again)
	changes, err = s.RecordChanges(t.Context(), before)
	wantErr(t, "RecordChanges", err, nil)
	mustEqual(t, "RecordChanges after the tombstone's replacement", changes, []storage.Record{again})
}

func testListRecords(t *testing.T, s storage.Store) {
	// Created out of id order, with a tenant among them: ListRecords keeps
	// to its kind.
	var all, ofA []storage.Record
	for _, c := range []struct{ id, owner string }{{"c3", "a"}, {"c1", ""}, {"c4", "b"}, {"c2", "a"}, {"c5", ""}} {
		createRecord(t, s, record(storage.KindConnection, c.id, c.owner))
	}
	createRecord(t, s, record(storage.KindTenant, "c0", ""))
	createRecord(t, s, record(storage.KindConnection, "c6", "a"))
	wantErr(t, "DeleteRecord", s.DeleteRecord(t.Context(), storage.KindConnection, "c6", t0), nil)
	for _, id := range []string{"c1", "c2", "c3", "c4", "c5"} {
		r, err := s.GetRecord(t.Context(), storage.KindConnection, id)
		wantErr(t, "GetRecord", err, nil)
		all = append(all, r)
		if r.Owner == "a" {
			ofA = append(ofA, r)
		}
	}
	for _, tt := range []struct {
		name, owner, after string
		limit              int
		want               []storage.Record
	}{
		{"all", "", "", 0, all},
		{"first page", "", "", 2, all[:2]},
		{"next page", "", "c2", 2, all[2:4]},
		{"last page", "", "c4", 2, all[4:]},
		{"past the end", "", "c5", 2, nil},
		{"of an owner", "a", "", 0, ofA},
		{"of an owner, paged", "a", "c2", 1, ofA[1:]},
		{"of an unknown owner", "z", "", 0, nil},
	} {
		got, err := s.ListRecords(t.Context(), storage.KindConnection, tt.owner, tt.after, tt.limit)
		wantErr(t, "ListRecords("+tt.name+")", err, nil)
		mustEqual(t, "ListRecords("+tt.name+")", got, tt.want)
	}
}

// testRecordChanges: the feed holds every record once, in its latest
// state, in Seq order, and from a Seq on only what was written after it.
func testRecordChanges(t *testing.T, s storage.Store) {
	changes, err := s.RecordChanges(t.Context(), 0)
	wantErr(t, "RecordChanges(empty)", err, nil)
	mustEqual(t, "RecordChanges(empty)", changes, nil)

	a := createRecord(t, s, record(storage.KindTenant, "a", ""))
	b := createRecord(t, s, record(storage.KindConnection, "b", "a"))
	c := createRecord(t, s, record(storage.KindDomain, "c.example", "b"))
	a.Doc = []byte(`{"id":"a","v":2}`)
	a, err = s.UpdateRecord(t.Context(), a, a.Seq)
	wantErr(t, "UpdateRecord", err, nil)
	wantErr(t, "DeleteRecord", s.DeleteRecord(t.Context(), storage.KindDomain, "c.example", t0), nil)
	tomb := storage.Record{Kind: c.Kind, ID: c.ID, Owner: c.Owner, CreatedAt: t0, UpdatedAt: t0, Deleted: true}

	changes, err = s.RecordChanges(t.Context(), 0)
	wantErr(t, "RecordChanges(0)", err, nil)
	if len(changes) == 3 {
		tomb.Seq = changes[2].Seq
	}
	mustEqual(t, "RecordChanges(0)", changes, []storage.Record{b, a, tomb})
	if !(b.Seq < a.Seq && a.Seq < tomb.Seq) {
		t.Fatalf("RecordChanges(0): seqs %d, %d, %d do not grow", b.Seq, a.Seq, tomb.Seq)
	}
	changes, err = s.RecordChanges(t.Context(), a.Seq)
	wantErr(t, "RecordChanges(a's seq)", err, nil)
	mustEqual(t, "RecordChanges(a's seq)", changes, []storage.Record{tomb})
	changes, err = s.RecordChanges(t.Context(), tomb.Seq)
	wantErr(t, "RecordChanges(latest seq)", err, nil)
	mustEqual(t, "RecordChanges(latest seq)", changes, nil)
}

// testRecordChangesConcurrently checks what replicas rely on: polling
// with the highest Seq seen misses nothing. Writers create records
// concurrently while a poller follows the feed; every record is created
// once and never changed, so a write that became visible below a Seq the
// poller had already seen would be missing from what the poller
// collected.
func testRecordChangesConcurrently(t *testing.T, s storage.Store) {
	const writers, each = 8, 25
	done := make(chan struct{})
	seen := map[string]int64{}
	var pollErr error
	var polling sync.WaitGroup
	polling.Go(func() {
		var last int64
		poll := func() bool {
			changes, err := s.RecordChanges(t.Context(), last)
			if err != nil {
				pollErr = fmt.Errorf("RecordChanges(%d): %w", last, err)
				return false
			}
			for _, r := range changes {
				if r.Seq <= last {
					pollErr = fmt.Errorf("RecordChanges(%d) returned seq %d out of order", last, r.Seq)
					return false
				}
				last = r.Seq
				seen[r.ID] = r.Seq
			}
			return true
		}
		for {
			select {
			case <-done:
				poll() // what committed after the last poll
				return
			default:
				if !poll() {
					return
				}
			}
		}
	})
	var writing sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		writing.Go(func() {
			for i := range each {
				if _, err := s.CreateRecord(t.Context(), record(storage.KindTenant, fmt.Sprintf("t%d-%d", w, i), "")); err != nil {
					errs <- err
				}
			}
		})
	}
	writing.Wait()
	close(done)
	polling.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("CreateRecord: %v", err)
	}
	if pollErr != nil {
		t.Fatal(pollErr)
	}
	all, err := s.RecordChanges(t.Context(), 0)
	wantErr(t, "RecordChanges(0)", err, nil)
	if len(all) != writers*each {
		t.Fatalf("RecordChanges(0): %d records, want %d", len(all), writers*each)
	}
	for _, r := range all {
		switch got, ok := seen[r.ID]; {
		case !ok:
			t.Errorf("record %s, seq %d: the poller never saw it: it became visible after a higher seq", r.ID, r.Seq)
		case got != r.Seq:
			t.Errorf("record %s: the poller saw seq %d, the feed says %d", r.ID, got, r.Seq)
		}
	}
}
