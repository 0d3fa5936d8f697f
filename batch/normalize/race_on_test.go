//go:build race

package normalize

// raceEnabled says the tests run under the race detector, which makes the
// phone differential sweep several times slower (see TestPhoneDifferential).
const raceEnabled = true
