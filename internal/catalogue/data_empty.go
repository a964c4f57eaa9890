package catalogue

// Placeholders until hack/catalogue generates the data files; removed by the generator's
// first run.
var (
	actions  []Action
	triggers []Trigger
	sinks    []Sink
	models   []Model
	events   []EventClass
)

// RobustaCommit is the robusta-dev/robusta commit the data describes.
const RobustaCommit = "acf0db9afcea25a5c4cfcf5986357c9c05a47c19"
