// Test stand-in for Calamares 3.2.61's io.calamares.core Global singleton
// (GlobalStorage): "hostname" is what `--koder-test-gs-hostname=NAME` among
// the arguments says, as the users page would leave it; nothing else.
pragma Singleton
import QtQuick 2.15

QtObject {
    function hostname() {
        var args = Qt.application.arguments;
        for (var i = 0; i < args.length; i++)
            if (args[i].indexOf("--koder-test-gs-hostname=") === 0) return args[i].substring(25);
        return "";
    }
    function value(key) { return key === "hostname" && hostname() ? hostname() : undefined; }
    function contains(key) { return key === "hostname" && hostname() !== ""; }
}
