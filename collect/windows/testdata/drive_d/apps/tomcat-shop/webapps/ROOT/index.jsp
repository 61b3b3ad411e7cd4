<% out.println("shop"); %>
