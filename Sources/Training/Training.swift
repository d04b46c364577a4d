import Datasets
import Models
import NN
