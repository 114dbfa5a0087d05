import CCmarkGFM
import Crypto
