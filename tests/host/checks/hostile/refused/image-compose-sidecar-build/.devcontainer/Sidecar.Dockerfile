FROM docker.io/evil/miner:1
RUN true
