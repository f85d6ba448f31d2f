// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "client",
    platforms: [.macOS(.v15)],
    dependencies: [
        // A clone of the toolkit beside this package; the package name is the folder's name.
        .package(path: "../swift-rnn-toolkit"),
    ],
    targets: [
        .executableTarget(name: "client", dependencies: [
            .product(name: "RNNKit", package: "swift-rnn-toolkit"),
        ]),
    ]
)
