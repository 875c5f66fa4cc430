# One static binary in an empty image.
#   docker build -t calls .
#   docker run -d --name calls -p 8443:8443/tcp -p 8443:8443/udp -v calls-data:/data calls
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/calls . \
 && mkdir -p /out/data

FROM scratch
# CA roots, for ACME (--domain) only; calls contacts nothing else.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/calls /calls
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV CALLS_DATA=/data CALLS_LISTEN=:8443
VOLUME /data
# 8443/tcp: web, API, websocket, ICE-TCP; 8443/udp: media (ICE);
# 3478 udp+tcp: STUN/TURN; 49160-49200/udp: TURN relays.
EXPOSE 8443/tcp 8443/udp 3478/udp 3478/tcp 49160-49200/udp
ENTRYPOINT ["/calls"]
CMD ["serve"]
