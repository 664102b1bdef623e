package gormthumb

// The one rule for what a row's thumbnail and placeholder columns must
// hold. Every path that writes them (Create, Update, upserts, Regenerate
// and Work) describes one row's source group as a planInput and follows
// the groupPlan that planGroup returns: keep, take what was made, make,
// clear, leave to Work, and what is superseded. Nothing else decides; the
// callers only gather the inputs (from the statement, the struct, the row
// under its lock) and carry the plan out (make, store, delete after
// commit).

// groupKeys is what one row holds, or will hold, for one source group:
// each thumbnail's key in the group's order, and its placeholder.
type groupKeys struct {
	thumbs []string
	holder string // the BlurHash; "" for none (or no placeholder field)
}

// emptyKeys is a group's keys with nothing in them.
func emptyKeys(g *sourceGroup) groupKeys {
	return groupKeys{thumbs: make([]string, len(g.thumbs))}
}

// equal reports whether k and o hold the same values.
func (k groupKeys) equal(o groupKeys) bool {
	if k.holder != o.holder || len(k.thumbs) != len(o.thumbs) {
		return false
	}
	for i := range k.thumbs {
		if k.thumbs[i] != o.thumbs[i] {
			return false
		}
	}
	return true
}

// planInput is everything the rule looks at for one row and source group.
type planInput struct {
	g       *sourceGroup
	table   string
	pk      string // the row's primary key: keys written before digest v2 carry it
	src     string // the source the row holds once the write is done
	version string // the source's version ("" for immutable sources)
	// cur is what the row holds now, as the plugin knows it: read from the
	// row under its lock, pinned by the statement's WHERE, or nothing for a
	// new row. Never a struct's unchecked values.
	cur groupKeys
	// made is what was made earlier for src and version (by the statement's
	// prepare, or by this run's first plan): "" where nothing was.
	made groupKeys
	// force remakes every thumbnail of a source, up to date or not
	// (Regenerate's Force).
	force bool
	// background is Work or Regenerate: async thumbnails are made here.
	// In a save they are left to Work.
	background bool
}

// thumbAction is what the rule decides for one thumbnail.
type thumbAction uint8

const (
	keepThumb  thumbAction = iota // the row's key is of the source: keep it
	takeThumb                     // take the key made for the source
	makeThumb                     // make one now
	clearThumb                    // no source: no thumbnail
	deferThumb                    // async in a save: keep the row's key, Work makes the new one
)

// holderAction is what the rule decides for a group's placeholder.
type holderAction uint8

const (
	noHolder    holderAction = iota // the group has no placeholder field
	keepHolder                      // keep the row's value
	takeHolder                      // take the one made for the source
	makeHolder                      // make one now
	clearHolder                     // no source: no placeholder
)

// decideThumb is the rule for thumbnail i of the group: with no source,
// none; a key that carries the digest of the source (thumbUpToDate) stays,
// unless forced; otherwise the one made for the source, if any; an async
// thumbnail in a save keeps its key until Work has made the new one; the
// rest is made now.
func decideThumb(in *planInput, i int) thumbAction {
	t := in.g.thumbs[i]
	switch {
	case in.src == "":
		return clearThumb
	case !in.force && thumbUpToDate(at(in.cur.thumbs, i), in.table, in.pk, t, in.src, in.version):
		return keepThumb
	case at(in.made.thumbs, i) != "":
		return takeThumb
	case t.async && !in.background:
		return deferThumb
	}
	return makeThumb
}

// decideHolder is the rule for the group's placeholder. It has no digest:
// it is made from the same decode as its source's thumbnails, so it is
// renewed whenever one of them is (renewing), and made when it is
// missing; it goes with its source. In a save, the placeholder of a group
// whose thumbnails are all async is Work's, like the thumbnails.
func decideHolder(in *planInput, renewing bool) holderAction {
	switch {
	case in.g.placeholder == nil:
		return noHolder
	case in.src == "":
		return clearHolder
	case in.g.asyncOnly() && !in.background:
		return keepHolder
	case !renewing && !in.force && in.cur.holder != "":
		return keepHolder
	case in.made.holder != "":
		return takeHolder
	}
	return makeHolder
}

// groupPlan is what the rule decides for one row and source group.
type groupPlan struct {
	next       groupKeys // what the row must hold ("" in next.thumbs where make is pending)
	make       []int     // the thumbnails to make now (indexes into the group)
	makeHolder bool      // make the placeholder now
	enqueue    bool      // record background work: Work has something to make
	superseded []string  // keys of cur that next no longer holds: delete after commit
}

// ready reports whether the plan needs nothing made.
func (pl *groupPlan) ready() bool { return len(pl.make) == 0 && !pl.makeHolder }

// planGroup applies the rule to a row's source group. When the plan is
// not ready, the caller makes what it lists, adds the results to
// in.made, and plans again: the second plan is ready.
func planGroup(in planInput) groupPlan {
	pl := groupPlan{next: emptyKeys(in.g)}
	renewing := false
	for i := range in.g.thumbs {
		switch decideThumb(&in, i) {
		case keepThumb:
			pl.next.thumbs[i] = at(in.cur.thumbs, i)
		case takeThumb:
			pl.next.thumbs[i] = in.made.thumbs[i]
			renewing = true
		case makeThumb:
			pl.make = append(pl.make, i)
			renewing = true
		case deferThumb:
			pl.next.thumbs[i] = at(in.cur.thumbs, i)
			pl.enqueue = true
		case clearThumb:
		}
	}
	switch decideHolder(&in, renewing) {
	case keepHolder:
		pl.next.holder = in.cur.holder
		if in.src != "" && in.cur.holder == "" {
			pl.enqueue = true // an async group's missing placeholder: Work makes it
		}
	case takeHolder:
		pl.next.holder = in.made.holder
	case makeHolder:
		pl.makeHolder = true
	}
	for i, k := range in.cur.thumbs {
		if k != "" && k != pl.next.thumbs[i] {
			pl.superseded = append(pl.superseded, k)
		}
	}
	return pl
}

// unchangedGroup reports whether the plan for in keeps every value of
// in.cur and records no work, as planGroup would decide, without
// allocating: an unchanged Save asks it for every group.
func unchangedGroup(in *planInput) bool {
	for i := range in.g.thumbs {
		switch decideThumb(in, i) {
		case keepThumb:
		case clearThumb:
			if at(in.cur.thumbs, i) != "" {
				return false
			}
		default:
			return false
		}
	}
	switch decideHolder(in, false) {
	case noHolder:
		return true
	case keepHolder:
		return in.src == "" || in.cur.holder != ""
	case clearHolder:
		return in.cur.holder == ""
	}
	return false
}

// at is s[i], or "" past its end.
func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}
