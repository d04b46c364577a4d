// The engine's message types, config and run layout live in `EngineProtocol` (the module the
// terminal front shares with the engine, D-200); every client of Training sees them too.
@_exported import EngineProtocol
import Datasets
import Models
import NN
