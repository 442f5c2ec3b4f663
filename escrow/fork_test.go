package escrow

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

const day = 24 * time.Hour

// The longest an escrow may still hold money shrinks as it moves on: a new one may wait for
// the payment, then the auto-release, then a dispute; a disputed one only the dispute.
func TestTheLongestTermShrinksAsTheEscrowMovesOn(t *testing.T) {
	var def Timing
	assert.Equal(t, 1*day+14*day+7*day+forkMargin, LongestTerm(def, StatusSettingUp, 0, 0))
	assert.Equal(t, 6*time.Hour+14*day+7*day+forkMargin, LongestTerm(def, StatusAwaitingFunding, 6*time.Hour, 0))
	assert.Equal(t, 14*day+7*day+forkMargin, LongestTerm(def, StatusFunded, 0, 0))
	assert.Equal(t, 3*day+7*day+forkMargin, LongestTerm(def, StatusShipped, 0, 3*day))
	assert.Equal(t, 7*day+forkMargin, LongestTerm(def, StatusDisputed, 0, 0))
	assert.Equal(t, forkMargin, LongestTerm(def, StatusReleasing, 0, 0))
	short := Timing{FundingDeadline: time.Hour, AutoRelease: day, DisputeEscalation: day}
	assert.Equal(t, time.Hour+2*day+forkMargin, LongestTerm(short, StatusReady, 0, 0), "the escrow's own timing counts")
}

func TestAForkOutlookEstimatesHeightsAtTheTargetBlockTime(t *testing.T) {
	at := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	o := ForkOutlook{Height: 100, NextForkHeight: 1_000, At: at}
	assert.True(t, o.Known())
	assert.Equal(t, uint64(100+720), o.HeightAt(at.Add(day)))
	assert.Equal(t, uint64(100), o.HeightAt(at.Add(-day)))
	assert.False(t, ForkOutlook{Height: 1_000, NextForkHeight: 900}.Known(), "a fork behind the chain is no outlook")
	assert.False(t, ForkOutlook{NextForkHeight: 900}.Known(), "nor one without the chain's height")
}
